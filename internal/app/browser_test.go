package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/pollhook/pollhook/internal/seal"
	"github.com/pollhook/pollhook/internal/testdb"
)

// chromium finds a headless Chromium for the console's tests: $CHROMIUM,
// or Debian's chromium (.ci/run installs it).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("POLLHOOK_REQUIRE_CHROMIUM") != "" {
		t.Fatal("no Chromium found, and POLLHOOK_REQUIRE_CHROMIUM is set (.ci/run installs Debian's chromium)")
	}
	t.Skip("no Chromium on this machine (apt-get install -y chromium, or set CHROMIUM): the console's browser tests need one")
	return ""
}

// browserTab is a headless Chromium tab, and the test's step recorder:
// with POLLHOOK_SCREENSHOTS=<dir> every page visited is saved there as a
// full-page PNG; without it, nothing is written outside the test's own
// temporary directory (Chromium's profile).
type browserTab struct {
	t    *testing.T
	ctx  context.Context
	base string // http://127.0.0.1:port
	name string // screenshot prefix
	shot atomic.Int32
}

func newBrowser(t *testing.T, base, name string) *browserTab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // root on the CI machines
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(cancelTab)
	// The first call starts the browser, on a context without a deadline
	// (the browser lives as long as it).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return &browserTab{t: t, ctx: ctx, base: base, name: name}
}

// stepTimeout bounds one step: a page load and what it waits for.
const stepTimeout = 30 * time.Second

func (b *browserTab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, stepTimeout)
}

// run runs actions, then saves a screenshot of where they left the page.
func (b *browserTab) run(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
		b.t.Fatalf("%s: %v\nat %s:\n%s", step, err, loc, body)
	}
	b.screenshot(step)
}

// get runs one action that answers a value.
func get[T any](b *browserTab, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (b *browserTab) screenshot(step string) {
	dir := os.Getenv("POLLHOOK_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := get(b, "screenshot "+step, chromedp.FullScreenshot(100))
	n := b.shot.Add(1)
	slug := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(step), "-"), "-")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%02d-%s.png", b.name, n, slug)), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browserTab) location() string { return get(b, "location", chromedp.Location()) }

func (b *browserTab) text(sel string) string {
	return get(b, "text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

func (b *browserTab) value(sel string) string {
	return get(b, "value of "+sel, chromedp.Value(chromedp.CSS(sel)))
}

// eval evaluates a JavaScript expression as a step.
func eval[T any](js string, out *T) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		v, err := chromedp.Evaluate[T](js)(ctx, t)
		if out != nil {
			*out = v
		}
		return err
	})
}

// waitJS waits until a JavaScript expression is true.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr)(ctx, t)
		return err
	})
}

// setInput sets an input's value as a user's typing would end, and fires
// the events the page listens to.
func setInput(sel, value string) chromedp.Action[chromedp.Void] {
	return eval[bool](fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q;
		e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); return true })()`, sel, value), nil)
}

// The console end to end, in Chromium, against the simulator: sign in,
// create an instance through the seed's form, see it listed, poll it now,
// see errors beside their fields with the input kept, edit it, sign out.
func TestConsoleInChromium(t *testing.T) {
	t.Parallel()
	chromium(t)
	t.Run("SQLite", func(t *testing.T) { testConsole(t, newHarness(t)) })
	t.Run("PostgreSQL", func(t *testing.T) {
		testConsole(t, newHarness(t, withDatabase(testdb.FreshSchema(t, testdb.PostgresURL(t))),
			func(c *serverConfig) { c.EncryptionKey = seal.NewKey("k1") }))
	})
}

func testConsole(t *testing.T, h *harness) {
	base := strings.TrimSuffix(h.base, "/elements/api-v2")
	b := newBrowser(t, base, strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")))

	// Sign in: a page asks for it, and brings the user back after.
	b.run("signin page", chromedp.Navigate(base+"/instances"), chromedp.WaitVisible(chromedp.CSS("#email")))
	if loc := b.location(); !strings.Contains(loc, "/signin?next=%2Finstances") {
		t.Fatalf("an anonymous visit went to %s", loc)
	}
	b.run("wrong password", chromedp.SendKeys(chromedp.CSS("#email"), h.creds.Email), chromedp.SendKeys(chromedp.CSS("#password"), "not it"),
		chromedp.Click(chromedp.CSS("#signin")), chromedp.WaitVisible(chromedp.CSS("#problem")))
	if p := b.text("#problem"); !strings.Contains(p, "wrong") {
		t.Fatalf("a wrong password says %q", p)
	}
	b.run("signed in", chromedp.SendKeys(chromedp.CSS("#password"), h.creds.ConsolePassword),
		chromedp.Click(chromedp.CSS("#signin")), chromedp.WaitVisible(chromedp.CSS("a.button.primary")))
	if loc := b.location(); !strings.HasSuffix(loc, "/instances") {
		t.Fatalf("after signing in: %s", loc)
	}

	// Create, through the form: the slider, a resource checkbox, the JSON
	// editor with a key the form does not show, a tag.
	b.run("create form", chromedp.Navigate(base+"/instances/new"), chromedp.WaitVisible(chromedp.CSS("#name")))
	var unlabelled []string
	b.run("labels", eval(`[...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
		.filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label")).map(e => e.id || e.name)`, &unlabelled))
	if len(unlabelled) > 0 {
		t.Errorf("form controls without a label: %v", unlabelled)
	}
	b.run("fill in the form",
		chromedp.SendKeys(chromedp.CSS("#name"), "Browser made"),
		chromedp.SendKeys(chromedp.CSS("#username"), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS("#apiKey"), h.sim.APIKey()),
		setInput("#pod", "url"),
		chromedp.WaitVisible(chromedp.CSS("#baseUrl")),
		chromedp.SendKeys(chromedp.CSS("#baseUrl"), h.simURL),
		chromedp.SendKeys(chromedp.CSS("#callbackUrl"), h.hook),
		setInput("#interval-slider", "7"),
		chromedp.Click(chromedp.CSS(`input[name=resource][value=leads]`)),
		chromedp.Click(chromedp.CSS("#code summary")),
		chromedp.WaitVisible(chromedp.CSS("#pollerConfig")),
		chromedp.SendKeys(chromedp.CSS("#tags"), "browser, e2e"),
	)
	if v := b.value("#interval"); v != "7" {
		t.Errorf("the slider moved to 7, the number box says %q", v)
	}
	var poller map[string]map[string]any
	if err := json.Unmarshal([]byte(b.value("#pollerConfig")), &poller); err != nil {
		t.Fatalf("the JSON editor: %v", err)
	}
	if _, ok := poller["leads"]; ok || len(poller) != 3 {
		t.Fatalf("unchecking leads left the editor with %v", keys(poller))
	}
	poller["contacts"]["overlap"] = 90 // a key the form has no input for
	edited, _ := json.MarshalIndent(poller, "", "  ")
	b.run("JSON edited", setInput("#pollerConfig", string(edited)))
	// The pencil: one resource's form, written back into the JSON.
	b.run("pencil", chromedp.Click(chromedp.CSS(`button.pencil[data-resource=contacts]`)), chromedp.WaitVisible(chromedp.CSS("#rf-pageSize")))
	if v := b.value("#rf-idField"); v != "CONTACT_ID" {
		t.Errorf("the pencil's form shows idField %q", v)
	}
	if u, c := b.value("#rf-updatedDateTimezone"), b.value("#rf-createdDateTimezone"); u != "GMT" || c != "GMT" {
		t.Errorf("the pencil's form shows the element's time zones as %q and %q", u, c)
	}
	b.run("pencil applied", setInput("#rf-pageSize", "250"), setInput("#rf-updatedDateTimezone", "Europe/London"),
		setInput("#rf-createdDateTimezone", "America/New_York"), chromedp.Click(chromedp.CSS("#resource-apply")),
		waitJS(`document.querySelector("#pollerConfig").value.includes('"pageSize": 250')`))
	var zones string
	b.run("pencil zones", eval(`(() => { const d = JSON.parse(document.querySelector("#pollerConfig").value).contacts.datesConfiguration;
		return d.updatedDateTimezone + " " + d.createdDateTimezone })()`, &zones))
	if zones != "Europe/London America/New_York" {
		t.Errorf("the pencil's time zones wrote %q into the JSON", zones)
	}
	b.run("pencil zones shown", chromedp.Click(chromedp.CSS(`button.pencil[data-resource=contacts]`)), chromedp.WaitVisible(chromedp.CSS("#rf-updatedDateTimezone")))
	if u, c := b.value("#rf-updatedDateTimezone"), b.value("#rf-createdDateTimezone"); u != "Europe/London" || c != "America/New_York" {
		t.Errorf("the pencil's form shows the zones %q and %q", u, c)
	}
	// Back to the element's GMT (Insightly's dates are UTC).
	b.run("pencil zones restored", setInput("#rf-updatedDateTimezone", "GMT"), setInput("#rf-createdDateTimezone", "GMT"),
		chromedp.Click(chromedp.CSS("#resource-apply")), waitJS(`(() => { const d = JSON.parse(document.querySelector("#pollerConfig").value).contacts.datesConfiguration;
			return d.updatedDateTimezone === "GMT" && d.createdDateTimezone === "GMT" })()`))
	if v := b.value("#pollerConfig"); !strings.Contains(v, `"pageSize": 250`) || !strings.Contains(v, `"overlap": 90`) {
		var dbg string
		b.run("debug", eval(`document.querySelector("#pollerConfig").value.length + " " + document.querySelector("#json-status").textContent + " " + document.querySelectorAll("#pollerConfig").length`, &dbg))
		t.Fatalf("after the pencil, the JSON (%s):\n%s", dbg, v)
	}
	// Lists: comma-separated names become a JSON array, and an empty
	// input removes the key again.
	b.run("pencil lists", chromedp.Click(chromedp.CSS(`button.pencil[data-resource=contacts]`)), chromedp.WaitVisible(chromedp.CSS("#rf-ignoreFields")),
		chromedp.Click(chromedp.CSS("#rf-snapshots")), setInput("#rf-ignoreFields", " DATE_UPDATED_UTC, ,X "), chromedp.Click(chromedp.CSS("#resource-apply")),
		waitJS(`JSON.stringify(JSON.parse(document.querySelector("#pollerConfig").value).contacts.ignoreFields) === '["DATE_UPDATED_UTC","X"]'`))
	if v := b.value("#pollerConfig"); !strings.Contains(v, `"snapshots": true`) {
		t.Errorf("after the pencil's snapshots, the JSON:\n%s", v)
	}
	b.run("pencil lists shown", chromedp.Click(chromedp.CSS(`button.pencil[data-resource=contacts]`)), chromedp.WaitVisible(chromedp.CSS("#rf-ignoreFields")))
	if v := b.value("#rf-ignoreFields"); v != "DATE_UPDATED_UTC, X" {
		t.Errorf("the pencil's form shows ignoreFields %q", v)
	}
	b.run("pencil lists cleared", chromedp.Click(chromedp.CSS("#rf-snapshots")), setInput("#rf-ignoreFields", ""), chromedp.Click(chromedp.CSS("#resource-apply")),
		waitJS(`!document.querySelector("#pollerConfig").value.includes("ignoreFields")`))
	if v := b.value("#pollerConfig"); strings.Contains(v, "snapshots") || !strings.Contains(v, `"pageSize": 250`) {
		t.Errorf("after clearing the pencil's lists, the JSON:\n%s", v)
	}
	b.run("created", chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#polls")))
	if f := b.text(".flash"); !strings.Contains(f, "created") {
		t.Errorf("after creating: flash %q", f)
	}
	if q := b.text("#quota"); strings.Contains(q, "-1") {
		t.Errorf("a quota not stated yet shows as %q", q)
	}
	inst := h.onlyInstance("Browser made")
	cfg := inst.Configuration
	if cfg["event.poller.refresh_interval"] != "7" || !strings.Contains(cfg["event.poller.configuration"], `"overlap"`) ||
		!strings.Contains(cfg["event.poller.configuration"], `"pageSize":250`) ||
		strings.Contains(cfg["event.poller.configuration"], `"leads"`) || strings.Join(inst.Tags, ",") != "browser,e2e" {
		t.Fatalf("the instance made by the form: tags %v, configuration %v", inst.Tags, cfg)
	}

	// Listed, with its polls.
	b.run("listed", chromedp.Navigate(base+"/instances"), chromedp.WaitVisible(chromedp.CSS(`tr[data-instance]`)))
	if row := b.text(`tr[data-instance]`); !strings.Contains(row, "Browser made") || !strings.Contains(row, "contacts") || !strings.Contains(row, "browser") {
		t.Errorf("the list's row: %q", row)
	}
	var overflow bool
	b.run("on a phone", chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`tr[data-instance]`)),
		eval(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow))
	if overflow {
		t.Error("the instances page is wider than a phone's screen")
	}
	b.run("back on a laptop", chromedp.EmulateViewport(1280, 900))
	b.run("searched away", setInput("#q", "nothing like it"), chromedp.Submit(chromedp.CSS("#q")),
		chromedp.WaitNotPresent(chromedp.CSS(`tr[data-instance]`)))

	// Poll now: the status changes. After the first poll, the last-run
	// cell as it was; a run a second later shows another time.
	detail := fmt.Sprintf("%s/instances/%d", base, inst.ID)
	waitFor(t, "the first poll", func() bool { return h.pollRuns(inst.ID, "contacts") > 0 })
	runs := h.pollRuns(inst.ID, "contacts")
	lastRun := `tr[data-resource=contacts] td.last-run`
	b.run("detail", chromedp.Navigate(detail), chromedp.WaitVisible(chromedp.CSS(lastRun+" small")))
	before := b.text(lastRun)
	if at, err := time.Parse(time.RFC3339, strings.Fields(before)[0]); err == nil {
		time.Sleep(time.Until(at.Add(time.Second))) // the cell's time has a one-second grain
	} else {
		t.Errorf("the last run before polling: %q", before)
	}
	b.run("poll now", chromedp.Click(chromedp.CSS(`tr[data-resource=contacts] button.poll-one`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	deadline := time.Now().Add(30 * time.Second)
	for h.pollRuns(inst.ID, "contacts") <= runs && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if h.pollRuns(inst.ID, "contacts") <= runs {
		t.Fatal("the poll asked for in the console did not run")
	}
	b.run("polled", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`tr[data-resource=contacts] td.last-run small`)))
	if last := b.text(lastRun); !strings.Contains(last, "records") || last == before {
		t.Errorf("the last run after polling: %q (before: %q)", last, before)
	}
	if q := b.text("#quota"); !strings.Contains(q, "calls a day") {
		t.Errorf("the quota line: %q", q)
	}
	if key := b.text("#signature-key"); len(key) < 16 {
		t.Errorf("signature key shown as %q", key)
	}

	// Errors beside their fields, the input kept.
	b.run("bad form", chromedp.Navigate(base+"/instances/new"), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Refused"),
		chromedp.SendKeys(chromedp.CSS("#apiKey"), h.sim.APIKey()),
		setInput("#pod", "url"),
		chromedp.SendKeys(chromedp.CSS("#baseUrl"), h.simURL),
		chromedp.SendKeys(chromedp.CSS("#callbackUrl"), "ftp://example.com/hook"),
		chromedp.Click(chromedp.CSS("#code summary")))
	bad := strings.Replace(b.value("#pollerConfig"), `"updatedDateFormat": "yyyy-MM-dd HH:mm:ss"`, `"updatedDateFormat": "yyyy-MM-dd HH:mm:ss qqq"`, 1)
	b.run("refused", setInput("#pollerConfig", bad), chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#callbackUrl-error")))
	if e := b.text("#callbackUrl-error"); !strings.Contains(e, "http") {
		t.Errorf("the callback URL's error: %q", e)
	}
	if e := b.text("#pollerConfig-error"); !strings.Contains(e, "updatedDateFormat") && !strings.Contains(e, "qqq") {
		t.Errorf("the date pattern's error: %q", e)
	}
	if v := b.value("#callbackUrl"); v != "ftp://example.com/hook" {
		t.Errorf("the callback URL typed was not kept: %q", v)
	}
	if v := b.value("#pollerConfig"); !strings.Contains(v, "HH:mm:ss qqq") {
		t.Errorf("the JSON typed was not kept")
	}
	if v := b.value("#name"); v != "Refused" {
		t.Errorf("the name typed was not kept: %q", v)
	}
	if n := h.countInstances(); n != 1 {
		t.Fatalf("a refused form stored something: %d instances", n)
	}

	// Edit: the same form, filled in; the API key stays unless typed.
	b.run("edit form", chromedp.Navigate(detail+"/edit"), chromedp.WaitVisible(chromedp.CSS("#name")))
	if v := b.value("#apiKey"); v != "" {
		t.Errorf("the edit form shows the API key: %q", v)
	}
	b.run("edited", setInput("#name", "Browser edited"),
		setInput("#interval", "11"), chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#polls")))
	inst = h.onlyInstance("Browser edited")
	if cfg := inst.Configuration; cfg["event.poller.refresh_interval"] != "11" || !strings.Contains(cfg["event.poller.configuration"], `"overlap"`) {
		t.Errorf("after editing: %v", cfg)
	}

	// The instance's API docs: "try it" lists contacts through the session.
	b.run("API docs page", chromedp.Navigate(detail+"/api"), chromedp.WaitVisible(chromedp.CSS("#swagger-ui")))
	b.run("API docs", chromedp.WaitVisible(chromedp.CSS("#operations-hub-hubList")))
	var noValidator bool
	b.run("no validator", eval(`window.ui.getConfigs().validatorUrl === null && !document.querySelector('img[src*="validator"], .validator-badge') &&
		!performance.getEntriesByType("resource").some(e => e.name.includes("validator"))`, &noValidator))
	if !noValidator {
		t.Error("Swagger UI is set to ask a validator about the spec")
	}
	b.run("try it", chromedp.Click(chromedp.CSS("#operations-hub-hubList .opblock-summary")),
		chromedp.WaitVisible(chromedp.CSS(`#operations-hub-hubList input[placeholder="resource"]`)),
		chromedp.SendKeys(chromedp.CSS(`#operations-hub-hubList input[placeholder="resource"]`), "contacts"),
		chromedp.Click(chromedp.CSS("#operations-hub-hubList .btn.execute")),
		chromedp.WaitVisible(chromedp.CSS("#operations-hub-hubList .live-responses-table .response-col_description")))
	if got := b.text("#operations-hub-hubList .live-responses-table"); !strings.Contains(got, "CONTACT_ID") || !strings.Contains(got, "200") {
		t.Errorf("try it on contacts answered:\n%.600s", got)
	}
	// With a CEQL where: exactly the one contact it names.
	h.change(t, "Tryit-Hamilton")
	hamilton := h.contactID(t, "Tryit-Hamilton")
	// The request URL shows before its response replaces the last one:
	// wait for another body.
	var listed string
	const responseBody = `document.querySelector("#operations-hub-hubList .live-responses-table .highlight-code pre")`
	b.run("try it with where", eval(`window.previousBody = `+responseBody+`.textContent`, (*string)(nil)),
		chromedp.SendKeys(chromedp.CSS(`#operations-hub-hubList input[placeholder="where"]`), "LAST_NAME = 'Tryit-Hamilton'"),
		chromedp.Click(chromedp.CSS("#operations-hub-hubList .btn.execute")),
		waitJS(`(document.querySelector("#operations-hub-hubList .request-url pre") || {}).textContent?.includes("where=") &&
			!!`+responseBody+` && `+responseBody+`.textContent !== window.previousBody`),
		eval(`(() => { const rs = JSON.parse(`+responseBody+`.textContent);
			return rs.map(r => r.CONTACT_ID + " " + r.LAST_NAME).join(", ") })()`, &listed))
	if want := hamilton + " Tryit-Hamilton"; listed != want {
		t.Errorf("try it with where LAST_NAME = 'Tryit-Hamilton' listed %q, want %q", listed, want)
	}

	// Delete asks first, and Cancel keeps the instance.
	b.run("delete confirmation", chromedp.Navigate(detail), chromedp.Click(chromedp.CSS("#delete")), chromedp.WaitVisible(chromedp.CSS("#confirm-delete")))
	if p := b.text("main"); !strings.Contains(p, "Delete Browser edited?") || !strings.Contains(p, "cannot be undone") {
		t.Errorf("the delete confirmation says:\n%s", p)
	}
	b.run("delete cancelled", chromedp.Click(chromedp.CSS(`a[href$="/instances/`+strconv.FormatInt(inst.ID, 10)+`"]`)), chromedp.WaitVisible(chromedp.CSS("#polls")))
	if n := h.countInstances(); n != 1 {
		t.Errorf("after cancelling the delete: %d instances", n)
	}

	// Sign out: the old session is refused by the server, not only forgotten.
	cookies := get(b, "cookies", func(ctx context.Context, t *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{})
		return res.Cookies, err
	})
	b.run("signed out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#email")))
	b.run("refused after signing out", chromedp.Navigate(base+"/instances"), chromedp.WaitVisible(chromedp.CSS("#email")))
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(base)
	for _, c := range cookies {
		jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value}})
	}
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(base + "/instances")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Errorf("the old session after signing out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The same address and password in a second organization: signing in
	// asks which one to work in.
	second := h.secondOrganization(t, "Analytical Engines Ltd")
	b.run("organization picker", chromedp.SendKeys(chromedp.CSS("#email"), h.creds.Email), chromedp.SendKeys(chromedp.CSS("#password"), h.creds.ConsolePassword),
		chromedp.Click(chromedp.CSS("#signin")), chromedp.WaitVisible(chromedp.CSS("button.choice")))
	if choices := b.text("main"); !strings.Contains(choices, "Analytical Engines Ltd") || !strings.Contains(choices, "default") {
		t.Errorf("the organization picker offers:\n%s", choices)
	}
	b.run("organization chosen", chromedp.Click(chromedp.CSS(`button.choice:not([value="`+strconv.FormatInt(second.ID, 10)+`"])`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-instance]`)))
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// onlyInstance is the organization's instance of that name, through the API.
func (h *harness) onlyInstance(name string) instanceJSON {
	h.t.Helper()
	resp, out := h.call("GET", "/instances", h.platform(), nil)
	want(h.t, resp, out, 200, "")
	var list []instanceJSON
	json.Unmarshal(out, &list)
	for _, in := range list {
		if in.Name == name {
			return in
		}
	}
	h.t.Fatalf("no instance %q in %s", name, out)
	return instanceJSON{}
}

func (h *harness) pollRuns(instanceID int64, resource string) int {
	h.t.Helper()
	p, err := h.srv.store.GetPoll(context.Background(), instanceID, resource)
	if err != nil {
		h.t.Fatal(err)
	}
	return p.Runs
}

// receiverHit is one request a test receiver got.
type receiverHit struct {
	id   string // Elements-Webhook-Id
	test bool   // Pollhook-Test: true
	body string
}

// scriptedReceiver answers the statuses it is given, in order, then 200,
// and records what it gets.
type scriptedReceiver struct {
	url    string
	mu     sync.Mutex
	script []int
	hits   []receiverHit
}

func newScriptedReceiver(t *testing.T) *scriptedReceiver {
	rv := &scriptedReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rv.mu.Lock()
		status := http.StatusOK
		if len(rv.script) > 0 {
			status, rv.script = rv.script[0], rv.script[1:]
		}
		rv.hits = append(rv.hits, receiverHit{id: r.Header.Get("Elements-Webhook-Id"), test: r.Header.Get("Pollhook-Test") == "true", body: string(body)})
		rv.mu.Unlock()
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"receiver":"answered %d"}`, status)
	}))
	t.Cleanup(srv.Close)
	rv.url = srv.URL + "/hook"
	return rv
}

func (rv *scriptedReceiver) answer(statuses ...int) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	rv.script = append(rv.script, statuses...)
}

func (rv *scriptedReceiver) got() []receiverHit {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return slices.Clone(rv.hits)
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30 s for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// change creates a contact in the simulator, through its API.
func (h *harness) change(t *testing.T, name string) {
	t.Helper()
	req, _ := http.NewRequest("POST", h.simURL+"/Contacts", strings.NewReader(`{"LAST_NAME":`+strconv.Quote(name)+`}`))
	req.SetBasicAuth(h.sim.APIKey(), "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("creating a contact in the simulator: %v %v", resp, err)
	}
	resp.Body.Close()
}

// contactID is the id of the simulator's contact of that last name.
func (h *harness) contactID(t *testing.T, lastName string) string {
	t.Helper()
	contacts, err := h.sim.Records(h.sim.APIKey(), "Contacts")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range contacts {
		if c["LAST_NAME"] == lastName {
			return fmt.Sprint(c["CONTACT_ID"])
		}
	}
	t.Fatalf("no contact named %s in the simulator", lastName)
	return ""
}

// pollNow asks for a poll of an instance's contacts through the API, and
// waits until it ran.
func (h *harness) pollNow(t *testing.T, id int64) {
	t.Helper()
	runs := h.pollRuns(id, "contacts")
	resp, out := h.call("POST", fmt.Sprintf("/instances/%d/polls/contacts/run", id), h.platform(), nil)
	want(t, resp, out, http.StatusAccepted, "")
	waitFor(t, "the poll asked for", func() bool { return h.pollRuns(id, "contacts") > runs })
}

// signIn signs the tab in as the first user.
func (b *browserTab) signIn(h *harness) {
	b.t.Helper()
	b.run("sign in", chromedp.Navigate(b.base+"/signin"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), h.creds.Email), chromedp.SendKeys(chromedp.CSS("#password"), h.creds.ConsolePassword),
		chromedp.Click(chromedp.CSS("#signin")), chromedp.WaitVisible(chromedp.CSS("a.button.primary")))
}

// What someone running integrations opens the console for, in Chromium:
// a change appears among the events with its delivered attempt and the
// notification as sent; one replay and a filtered replay reach the
// receiver under the same id; a test notification shows the receiver's
// answer; a failing receiver makes the callback retry, then suspends it,
// and reactivating releases its queue in order; the charts have data.
func TestConsoleDeliveriesInChromium(t *testing.T) {
	t.Parallel()
	chromium(t)
	t.Run("SQLite", func(t *testing.T) { testConsoleDeliveries(t, newHarness(t)) })
	t.Run("PostgreSQL", func(t *testing.T) {
		testConsoleDeliveries(t, newHarness(t, withDatabase(testdb.FreshSchema(t, testdb.PostgresURL(t))),
			func(c *serverConfig) { c.EncryptionKey = seal.NewKey("k1") }))
	})
}

func testConsoleDeliveries(t *testing.T, h *harness) {
	base := strings.TrimSuffix(h.base, "/elements/api-v2")
	b := newBrowser(t, base, strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")))
	rv := newScriptedReceiver(t)
	in, _ := h.create(h.instanceBody("Deliveries", map[string]any{"event.notification.callback.url": rv.url,
		"event.poller.configuration": map[string]any{"contacts": map[string]any{"snapshots": true}}}))
	waitFor(t, "the first poll", func() bool { return h.pollRuns(in.ID, "contacts") > 0 })
	b.signIn(h)

	// A change, polled and delivered, among the events.
	h.change(t, "Lovelace")
	h.pollNow(t, in.ID)
	waitFor(t, "the notification", func() bool { return len(rv.got()) == 1 })
	first := rv.got()[0].id
	// The receiver answered before the attempt is recorded: wait for it.
	delivered := func(id string) bool {
		inst, err := h.srv.store.InstanceByID(context.Background(), in.ID)
		if err != nil {
			t.Fatal(err)
		}
		n, err := h.srv.store.NotificationByID(context.Background(), inst.OrgID, id)
		return err == nil && n.Status == "delivered"
	}
	waitFor(t, "the attempt recorded", func() bool { return delivered(first) })
	// Its row says how its notification's delivery stands: delivered,
	// the last attempt answered 200.
	row := fmt.Sprintf(`#events tr[data-object=%q]`, h.contactID(t, "Lovelace"))
	b.run("events", chromedp.Navigate(base+"/events"), chromedp.WaitVisible(chromedp.CSS(row)))
	if d := b.text(row + " .delivery"); !strings.Contains(d, "delivered") || !strings.Contains(d, "200") || !strings.Contains(d, "ms") {
		t.Errorf("the event's delivery column says %q, want delivered, 200 and the latency", d)
	}
	b.run("event", chromedp.Click(chromedp.CSS(row+" a")), chromedp.WaitVisible(chromedp.CSS("#sent")))
	if sent := b.text("#sent"); !strings.Contains(sent, first) || !strings.Contains(sent, "Lovelace") {
		t.Errorf("the notification as sent:\n%.400s", sent)
	}
	if a := b.text("#attempt-list .attempt .status"); a != "200" {
		t.Errorf("the delivered attempt shows %q", a)
	}

	// Replay one: the same id again.
	b.run("replayed", chromedp.Click(chromedp.CSS("#replay-one")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	waitFor(t, "the replay", func() bool { return len(rv.got()) == 2 })
	// Replay the filtered set, after a confirmation that counts.
	b.run("replay filtered", chromedp.Navigate(base+"/events?filtered=1&resource=contacts&type=CREATED"),
		chromedp.WaitVisible(chromedp.CSS("#events")), chromedp.Click(chromedp.CSS("#replay-filtered")), chromedp.WaitVisible(chromedp.CSS("#replay-count")))
	if n := b.text("#replay-count"); n != "1" {
		t.Fatalf("the confirmation counts %s notifications, want 1", n)
	}
	b.run("replayed filtered", chromedp.Click(chromedp.CSS("#confirm-replay")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	waitFor(t, "the filtered replay", func() bool { return len(rv.got()) == 3 })
	for i, hit := range rv.got() {
		if hit.id != first {
			t.Errorf("delivery %d has id %s, want the same notification %s", i, hit.id, first)
		}
	}

	// A test notification: the receiver's answer, out of band.
	detail := fmt.Sprintf("%s/instances/%d", base, in.ID)
	b.run("test notification", chromedp.Navigate(detail), chromedp.Click(chromedp.CSS("#callback-test")),
		chromedp.WaitVisible(chromedp.CSS("#test-status")))
	if st := b.text("#test-status"); st != "200" || !strings.Contains(b.text("#test-response"), "answered 200") {
		t.Errorf("the test notification shows status %q, answer %q", st, b.text("#test-response"))
	}
	if hits := rv.got(); len(hits) != 4 || !hits[3].test || !strings.Contains(hits[3].body, `"action":"test"`) {
		t.Errorf("the receiver's 4th request: %+v", hits[len(hits)-1])
	} else if sent := b.text("#test-body"); sent != hits[3].body {
		t.Errorf("the test's record shows the body as\n%s\nthe receiver got\n%s", sent, hits[3].body)
	}
	// The instance's page lists it, linking to its record.
	record := b.location()
	b.run("test listed", chromedp.Navigate(detail), chromedp.WaitVisible(chromedp.CSS("#test-deliveries tr.test-delivery a")))
	if row := b.text("#test-deliveries tr.test-delivery"); !strings.Contains(row, "200") || !strings.Contains(row, "ms") {
		t.Errorf("the instance's test notifications list it as %q", row)
	}
	b.run("test record again", chromedp.Click(chromedp.CSS("#test-deliveries tr.test-delivery a")), chromedp.WaitVisible(chromedp.CSS("#test-status")))
	if loc := b.location(); loc != record {
		t.Errorf("the listed test links to %s, want its record %s", loc, record)
	}

	// The receiver fails: the callback retries, then is suspended (410);
	// what comes meanwhile waits; reactivating sends it, in order.
	rv.answer(http.StatusServiceUnavailable, http.StatusGone)
	h.change(t, "Babbage")
	h.pollNow(t, in.ID)
	waitFor(t, "the failed attempt", func() bool { return len(rv.got()) == 5 })
	// The receiver answered before the attempt is recorded: wait for it.
	callbackState := func() string {
		inst, err := h.srv.store.InstanceByID(context.Background(), in.ID)
		if err != nil {
			t.Fatal(err)
		}
		cb, err := h.srv.store.CallbackFor(context.Background(), inst.OrgID, rv.url)
		if err != nil {
			t.Fatal(err)
		}
		return cb.State
	}
	waitFor(t, "the callback to retry", func() bool { return callbackState() == "retrying" })
	b.run("retrying", chromedp.Navigate(base+"/activity"), chromedp.WaitVisible(chromedp.CSS("#callbacks")))
	if st := b.text("tr[data-callback] .state"); !strings.Contains(st, "retrying") {
		t.Errorf("the callback after a 503: %q", st)
	}
	waitFor(t, "the retry, answered 410", func() bool { return len(rv.got()) == 6 && callbackState() == "suspended" })
	h.change(t, "Hopper")
	h.pollNow(t, in.ID)
	b.run("suspended", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("button.reactivate")))
	if w := b.text("tr[data-callback] .waiting"); !strings.HasPrefix(w, "2") {
		t.Errorf("waiting behind the suspension: %q", w)
	}
	b.run("reactivated", chromedp.Click(chromedp.CSS("button.reactivate")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	waitFor(t, "the queue after reactivation", func() bool { return len(rv.got()) == 8 })
	hits := rv.got()
	if hits[6].id != hits[5].id || !strings.Contains(hits[6].body, "Babbage") || !strings.Contains(hits[7].body, "Hopper") {
		t.Errorf("after reactivation: %s (%.60s…), then %s (%.60s…); want Babbage's notification again, then Hopper's",
			hits[6].id, hits[6].body, hits[7].id, hits[7].body)
	}

	// The charts have data.
	b.run("charts", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".charts svg")))
	var desc string
	b.run("chart text", eval(`document.querySelector(".charts svg desc").textContent`, &desc))
	if !strings.Contains(desc, "events in the") || strings.HasPrefix(desc, "No ") { // "No events in the 24 hours…" when empty
		t.Errorf("the events chart says %q", desc)
	}
	var points int
	b.run("latency points", eval(`document.querySelectorAll(".charts figure:nth-child(2) svg circle").length`, &points))
	if points == 0 {
		t.Error("the latency chart has no point")
	}
	// The instance's own charts, on its page, have the same data.
	b.run("instance charts", chromedp.Navigate(detail), chromedp.WaitVisible(chromedp.CSS(".charts svg")))
	b.run("instance chart text", eval(`document.querySelector(".charts svg desc").textContent`, &desc))
	if !strings.Contains(desc, "events in the") || strings.HasPrefix(desc, "No ") {
		t.Errorf("the instance's events chart says %q", desc)
	}
	b.run("instance latency points", eval(`document.querySelectorAll(".charts figure:nth-child(2) svg circle").length`, &points))
	if points == 0 {
		t.Error("the instance's latency chart has no point")
	}

	// With snapshots, an update's page shows what changed, before and after.
	contacts, _ := h.sim.Records(h.sim.APIKey(), "Contacts")
	var hopper map[string]any
	for _, c := range contacts {
		if c["LAST_NAME"] == "Hopper" {
			hopper = c
		}
	}
	raw, _ := json.Marshal(map[string]any{"CONTACT_ID": hopper["CONTACT_ID"], "TITLE": "Rear Admiral"})
	req, _ := http.NewRequest("PUT", h.simURL+"/Contacts", strings.NewReader(string(raw)))
	req.SetBasicAuth(h.sim.APIKey(), "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("updating a contact in the simulator: %v %v", resp, err)
	}
	resp.Body.Close()
	h.pollNow(t, in.ID)
	b.run("the update", chromedp.Navigate(base+"/events?filtered=1&type=UPDATED"), chromedp.WaitVisible(chromedp.CSS("#events tr[data-event] a")),
		chromedp.Click(chromedp.CSS("#events tr[data-event] a")), chromedp.WaitVisible(chromedp.CSS("#changed-fields")))
	if before, after := b.text(`#changed-fields tr[data-field=TITLE] .before`), b.text(`#changed-fields tr[data-field=TITLE] .after`); before != "null" || after != `"Rear Admiral"` {
		t.Errorf("the diff of TITLE: %s → %s", before, after)
	}
}
