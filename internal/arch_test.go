// Package internal_test keeps pollhook's layers honest: it reads the
// module's imports, as the Go toolchain sees them, and fails when a
// package imports one its layer must not.
package internal_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/pollhook/pollhook"

// layers is every package of the module (without the module path and
// "internal/") and the module's packages it may import. It is the one
// place the layering is written down; README.md's package table describes
// it. A new package must be added here, with its edges, before the test
// passes.
//
// From the bottom up:
//   - libraries that know nothing of pollhook's domain (no internal
//     imports but other libraries);
//   - store: storage and transactions, and no domain rule;
//   - the domain: instance, pollconfig, element, delivery, poller, each
//     testable without HTTP or the job engine;
//   - jobs: River, thin workers and scheduling; the only package that
//     knows River;
//   - api and console: HTTP over the domain (never jobs: the engine
//     implements the interfaces they declare); session, the console's
//     sign-in, over store;
//   - app (and bench, its benchmark commands): the wiring. Nothing
//     imports app but the binary.
var layers = map[string][]string{
	// Libraries.
	"auth":          nil,
	"client":        nil,
	"element/ceql":  nil,
	"fair":          nil,
	"javatime":      nil,
	"jsonschema":    nil,
	"netguard":      nil,
	"pollurl":       {"javatime"},
	"seal":          nil,
	"sim/insightly": nil,
	"suggest":       nil,

	// Storage, and what only reads or presents it (over storage).
	"store":   nil,
	"metrics": {"store"},
	"charts":  {"store"}, // SVG charts of the store's rows, for the console
	"session": {"auth", "store"},

	// Domain.
	"element":           {"element/ceql"},
	"changes":           {"element/ceql"}, // snapshots' diffs and triggers; pure, no storage
	"element/insightly": {"element", "element/ceql", "netguard"},
	"pollconfig":        {"element/ceql", "javatime", "pollurl", "suggest"},
	"instance":          {"auth", "element", "netguard", "pollconfig", "seal", "store", "suggest"},
	"delivery":          {"fair", "instance", "javatime", "metrics", "netguard", "store"},
	"poller":            {"changes", "delivery", "element", "element/ceql", "fair", "instance", "metrics", "pollconfig", "store"},

	// The engine, the API, the wiring.
	"jobs": {"delivery", "fair", "instance", "metrics", "poller", "store"},
	"api":  {"auth", "delivery", "element", "element/ceql", "instance", "poller", "store"},
	// The console: pages over the same services as the API (never jobs),
	// and no SQL (the store's methods only).
	"console": {"charts", "delivery", "instance", "poller", "session", "store"},
	// bench imports poller to time the Runner's scans alone (bench
	// snapshots: Runner.Baseline beside Runner.ScanDeletes); through jobs
	// they only run inside a scheduled poll, after its run.
	"bench": {"auth", "charts", "delivery", "element", "element/insightly", "instance", "jobs", "metrics", "netguard", "oracle", "poller",
		"seal", "sim/insightly", "store"},
	"app": {"api", "auth", "bench", "client", "console", "delivery", "element", "element/insightly", "instance", "jobs",
		"metrics", "netguard", "seal", "session", "sim/insightly", "store"},
	"cmd/pollhook": {"app"},

	// Test helpers, imported by tests only.
	"netguard/netguardtest": nil,
	"oracle":                {"changes", "element/insightly", "sim/insightly", "store"},
	"store/storetest":       {"store"},
	"testdb":                nil,
}

// owners says which packages alone may import a third-party module: the
// engine's queue, the database drivers, the metrics library (nil: tests
// only).
var owners = map[string][]string{
	"github.com/riverqueue/":               {"jobs"},
	"github.com/jackc/pgx/":                {"store", "testdb"},
	"modernc.org/sqlite":                   {"store"},
	"github.com/prometheus/client_golang/": {"metrics"},
	"code.dny.dev/ssrf":                    {"netguard"},
	"golang.org/x/crypto/":                 {"auth"},
	"github.com/chromedp/":                 nil, // tests only
	"github.com/standard-webhooks/":        nil, // tests only
}

type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// goList reads every package of the module, with the go command that
// runs the tests.
func goList(t *testing.T) []pkg {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(gobin, "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < len(layers)/2 {
		t.Fatalf("go list found %d packages: not the module", len(pkgs))
	}
	return pkgs
}

// short names a module package as layers does; ok is false outside it.
func short(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return "", false
	}
	return strings.TrimPrefix(rest, "internal/"), true
}

func TestLayers(t *testing.T) {
	t.Parallel()
	for _, p := range goList(t) {
		name, ok := short(p.ImportPath)
		if !ok || name == "internal" {
			continue // this test
		}
		allowed, known := layers[name]
		if !known {
			t.Errorf("package %s is not in internal/arch_test.go's layers: add it, with the packages it may import", name)
			continue
		}
		for _, imp := range p.Imports {
			if dep, ok := short(imp); ok && !slices.Contains(allowed, dep) {
				t.Errorf("%s imports %s, which its layer must not (internal/arch_test.go: layers)", name, dep)
			}
			for prefix, who := range owners {
				if strings.HasPrefix(imp, prefix) && !slices.Contains(who, name) {
					t.Errorf("%s imports %s, which only %v may", name, imp, who)
				}
			}
		}
		// Tests may reach across layers, but not into the wiring.
		for _, imp := range append(p.TestImports, p.XTestImports...) {
			if dep, _ := short(imp); dep == "app" && name != "app" {
				t.Errorf("tests of %s import app: only the binary and app's own tests may", name)
			}
		}
	}
}

// The table names no package that does not exist, and each package's
// allowed imports are themselves in the table: a renamed or removed
// package cannot leave a stale rule behind.
func TestLayersTableIsCurrent(t *testing.T) {
	t.Parallel()
	present := map[string]bool{}
	for _, p := range goList(t) {
		if name, ok := short(p.ImportPath); ok {
			present[name] = true
		}
	}
	var stale []string
	for name, deps := range layers {
		if !present[name] {
			stale = append(stale, name)
		}
		for _, d := range deps {
			if _, ok := layers[d]; !ok {
				t.Errorf("layers: %s may import %s, which is not in the table", name, d)
			}
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("layers names packages that do not exist: %v", stale)
	}

	// README.md's package table names every package of the table here.
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| ") {
			table.WriteString(line + "\n")
		}
	}
	for name := range layers {
		base := name[strings.LastIndex(name, "/")+1:]
		if !strings.Contains(table.String(), "`internal/"+name+"`") && !strings.Contains(table.String(), "`"+name+"`") &&
			!strings.Contains(table.String(), "`…/"+base+"`") && !strings.Contains(table.String(), "`"+base+"`") {
			t.Errorf("README.md's package table does not name %s", name)
		}
	}
}
