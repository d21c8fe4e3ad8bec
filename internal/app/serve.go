package app

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/api"
	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/console"
	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/element/insightly"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/metrics"
	"github.com/pollhook/pollhook/internal/netguard"
	"github.com/pollhook/pollhook/internal/seal"
	"github.com/pollhook/pollhook/internal/session"
	"github.com/pollhook/pollhook/internal/store"
)

// Version is set at build time with -ldflags "-X …/app.Version=…".
var Version = "dev"

// serverConfig is everything `pollhook serve` reads from flags and the environment.
type serverConfig struct {
	Addr                  string
	DataDir               string
	Database              string
	EncryptionKey         string
	AllowPrivateCallbacks bool
	AllowUpstream         string
	LogLevel              string
	LogFormat             string
	InsightlyRate         float64
	InsightlyConcurrency  int
	IntervalUnit          time.Duration
	PollTimeout           time.Duration
	RescueAfter           time.Duration
	Workers               int
	OrgMaxJobs            int
	FirstPollSpread       time.Duration
	// QuotaReserve is the share (0 to 0.9) of each Insightly account's
	// daily quota left to the customer's other apps (--quota-reserve).
	QuotaReserve float64
	// Instance limits (see limits.go).
	MaxResourcesPerInstance int
	MaxConfigKeys           int
	MaxInstancesPerOrg      int
	MetricsToken            string
	// The web console's sign-in (see consoleSettings): the URL people
	// reach pollhook at, and the proxies whose X-Forwarded-* are believed.
	PublicURL      string
	TrustedProxies string
	// Parsed from the two above by consoleSettings, when the server opens.
	trustedProxies []netip.Prefix
	secureCookies  bool

	// envErrs are the POLLHOOK_* values flags could not read (see envParse).
	envErrs []string

	// Set by tests: our clock, and how often idle workers look for jobs.
	now           func() time.Time
	fetchInterval time.Duration
	schedule      []time.Duration
}

// defaultDataDir is where a single node keeps its SQLite file, key file
// and first credentials: $XDG_DATA_HOME/pollhook, else ~/.local/share/pollhook.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "pollhook")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "pollhook")
	}
	return "pollhook-data"
}

// env returns the environment variable's value, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func (c *serverConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", env("POLLHOOK_ADDR", "127.0.0.1:8080"), "listen address ($POLLHOOK_ADDR); use :8080 to listen on every interface")
	fs.StringVar(&c.DataDir, "data-dir", env("POLLHOOK_DATA_DIR", defaultDataDir()), "directory for the SQLite database, key file and first credentials ($POLLHOOK_DATA_DIR)")
	fs.StringVar(&c.Database, "database", env("POLLHOOK_DATABASE", ""), "sqlite:<path> or postgres://… (default sqlite:<data-dir>/pollhook.db) ($POLLHOOK_DATABASE)")
	fs.StringVar(&c.EncryptionKey, "encryption-key", env("POLLHOOK_ENCRYPTION_KEY", ""), "keys that encrypt instance secrets: id:base64[,id:base64…], newest first; "+
		"required with PostgreSQL (default on SQLite: a generated <data-dir>/encryption.key) ($POLLHOOK_ENCRYPTION_KEY)")
	fs.BoolVar(&c.AllowPrivateCallbacks, "allow-private-callbacks", c.envBool("POLLHOOK_ALLOW_PRIVATE_CALLBACKS", "allow-private-callbacks", false), "accept callback URLs on loopback and private networks (tests and demos only) ($POLLHOOK_ALLOW_PRIVATE_CALLBACKS)")
	fs.StringVar(&c.AllowUpstream, "allow-upstream", env("POLLHOOK_ALLOW_UPSTREAM", ""), "HOST[:PORT],… that instances may use as their Insightly API besides Insightly's own https://api.<pod>.insightly.com; "+
		"the only way to allow a loopback or private upstream, such as the simulator ($POLLHOOK_ALLOW_UPSTREAM)")
	fs.Float64Var(&c.InsightlyRate, "insightly-rate", c.envFloat("POLLHOOK_INSIGHTLY_RATE", "insightly-rate", insightly.RateDefault), "requests per second to each Insightly account ($POLLHOOK_INSIGHTLY_RATE)")
	fs.IntVar(&c.InsightlyConcurrency, "insightly-concurrency", c.envInt("POLLHOOK_INSIGHTLY_CONCURRENCY", "insightly-concurrency", insightly.InFlightDefault), "requests in flight to each Insightly account ($POLLHOOK_INSIGHTLY_CONCURRENCY)")
	fs.DurationVar(&c.IntervalUnit, "interval-unit", c.envDuration("POLLHOOK_INTERVAL_UNIT", "interval-unit", time.Minute), "what one unit of event.poller.refresh_interval means; shorten it for demos and tests only ($POLLHOOK_INTERVAL_UNIT)")
	fs.DurationVar(&c.PollTimeout, "poll-timeout", c.envDuration("POLLHOOK_POLL_TIMEOUT", "poll-timeout", jobs.PollTimeoutDefault), "longest one poll run may take ($POLLHOOK_POLL_TIMEOUT)")
	fs.DurationVar(&c.RescueAfter, "job-rescue-after", c.envDuration("POLLHOOK_JOB_RESCUE_AFTER", "job-rescue-after", jobs.RescueAfterDefault), "how long a job held by a dead replica waits before another takes it; more than --poll-timeout ($POLLHOOK_JOB_RESCUE_AFTER)")
	fs.IntVar(&c.Workers, "workers", c.envInt("POLLHOOK_WORKERS", "workers", jobs.WorkersDefault), "jobs (polls, deliveries) run at once by this process ($POLLHOOK_WORKERS)")
	fs.IntVar(&c.OrgMaxJobs, "org-max-jobs", c.envInt("POLLHOOK_ORG_MAX_JOBS", "org-max-jobs", 0), "polls (and, counted apart, deliveries) one organization runs at once in this process; "+
		"one more snoozes a moment and gives its worker back. 0: half of --workers. Per process: with R replicas, up to R times this ($POLLHOOK_ORG_MAX_JOBS)")
	fs.DurationVar(&c.FirstPollSpread, "first-poll-spread", c.envDuration("POLLHOOK_FIRST_POLL_SPREAD", "first-poll-spread", 0), "spread the first poll of new instance-resources at random over this long (at most their interval) instead of polling at once; "+
		"set it before a bulk import ($POLLHOOK_FIRST_POLL_SPREAD)")
	c.QuotaReserve = envParse(c, "POLLHOOK_QUOTA_RESERVE", "quota-reserve", QuotaReserveDefault, parseQuotaReserve, "a percentage from 0% to 90%, like 20%")
	fs.Var((*percentFlag)(&c.QuotaReserve), "quota-reserve", "share of each Insightly account's daily API quota left to the customer's other apps, 0% to 90%; "+
		"for now only reported (an instance's poll status, /metrics), intervals are not stretched yet ($POLLHOOK_QUOTA_RESERVE)")
	c.limitFlags(fs)
	fs.StringVar(&c.MetricsToken, "metrics-token", env("POLLHOOK_METRICS_TOKEN", ""), "when set, /metrics answers only requests with 'Authorization: Bearer <token>'; "+
		"prefer the environment variable, which other users cannot read in the process list ($POLLHOOK_METRICS_TOKEN)")
	fs.StringVar(&c.PublicURL, "public-url", env("POLLHOOK_PUBLIC_URL", ""), "the URL people reach pollhook's console at, e.g. https://pollhook.example.com/; "+
		"when it is https, the console's session cookie is marked Secure ($POLLHOOK_PUBLIC_URL)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", env("POLLHOOK_TRUSTED_PROXIES", ""), "CIDR prefixes or addresses, comma-separated, of the reverse proxies whose "+
		"X-Forwarded-For and X-Forwarded-Proto are believed (default: none; the peer is the client) ($POLLHOOK_TRUSTED_PROXIES)")
	fs.StringVar(&c.LogLevel, "log-level", env("POLLHOOK_LOG_LEVEL", "info"), "debug, info, warn or error ($POLLHOOK_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", env("POLLHOOK_LOG_FORMAT", "text"), "text (logfmt) or json, one object a line ($POLLHOOK_LOG_FORMAT)")
}

// envParse reads the environment variable name for the flag --flag: def
// when it is unset or empty, else its value parsed, and if that fails, def
// and an error kept in c.envErrs, which makes the command refuse to start
// (see envError): a setting mistyped is never silently the default.
func envParse[T any](c *serverConfig, name, flag string, def T, parse func(string) (T, error), want string) T {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	x, err := parse(v)
	if err != nil {
		c.envErrs = append(c.envErrs, fmt.Sprintf("%s=%q (--%s): not %s", name, v, flag, want))
		return def
	}
	return x
}

func (c *serverConfig) envBool(name, flag string, def bool) bool {
	return envParse(c, name, flag, def, strconv.ParseBool, "true or false (or 1, 0, t, f)")
}

func (c *serverConfig) envDuration(name, flag string, def time.Duration) time.Duration {
	return envParse(c, name, flag, def, time.ParseDuration, "a duration (e.g. 30s, 5m)")
}

func (c *serverConfig) envFloat(name, flag string, def float64) float64 {
	return envParse(c, name, flag, def, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }, "a number")
}

// QuotaReserveDefault is --quota-reserve's default: 20%.
const QuotaReserveDefault = 0.2

// parseQuotaReserve reads a percentage from 0% to 90% ("20%"; the sign
// may be left out) as a share (0.2).
func parseQuotaReserve(v string) (float64, error) {
	n, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "%")), 64)
	if err != nil || math.IsNaN(n) {
		return 0, fmt.Errorf("%q is not a percentage from 0%% to 90%%, like 20%%", v)
	}
	if n < 0 || n > 90 {
		return 0, fmt.Errorf("%s is out of range: the reserve must be from 0%% to 90%% of the quota", v)
	}
	return n / 100, nil
}

// percentFlag is a share set from a percentage (parseQuotaReserve).
type percentFlag float64

func (p *percentFlag) String() string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(float64(*p)*100, 'f', -1, 64) + "%"
}

func (p *percentFlag) Set(v string) error {
	x, err := parseQuotaReserve(v)
	if err != nil {
		return err
	}
	*p = percentFlag(x)
	return nil
}

func (c *serverConfig) envInt(name, flag string, def int) int {
	return envParse(c, name, flag, def, strconv.Atoi, "a whole number")
}

// envError reports the environment variables the flags could not read,
// one a line as "cmd: POLLHOOK_X=…", and returns errUsage; nil when all
// were read. Commands call it right after parsing their flags.
func (c *serverConfig) envError(stderr io.Writer, cmd string) error {
	for _, e := range c.envErrs {
		fmt.Fprintf(stderr, "%s: %s\n", cmd, e)
	}
	if len(c.envErrs) > 0 {
		return errUsage
	}
	return nil
}

func (c *serverConfig) database() string {
	return cmp.Or(c.Database, "sqlite:"+filepath.Join(c.DataDir, "pollhook.db"))
}

// server is a running pollhook: the pieces a command or a test needs.
type server struct {
	cfg         serverConfig
	log         *slog.Logger
	store       *store.Store
	instances   *instance.Service
	api         *api.Server
	jobs        *jobs.Engine
	handler     http.Handler
	credentials string // where the first credentials were written, if this start created them
	deviceKey   []byte // signs the console's device cookies (nil in tests that build a server by hand)
	swept       chan struct{}
	lock        *dbLock // on SQLite: this process's hold on the file
}

// consoleSettings checks --public-url and --trusted-proxies and keeps
// what they mean: whether session cookies are Secure, and which peers'
// forwarding headers to believe.
func (c *serverConfig) consoleSettings() error {
	c.secureCookies = false
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--public-url %q is not an http:// or https:// URL", c.PublicURL)
		}
		c.secureCookies = u.Scheme == "https"
	}
	trusted, err := session.ParseTrusted(c.TrustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	c.trustedProxies = trusted
	return nil
}

// sessions is the console's sign-in over this server's store, configured
// from --public-url; the console's handlers use it with
// s.cfg.trustedProxies (session.ClientAddr). Its device cookies are signed
// with a key derived from the encryption keys, so every replica accepts
// them (and a key rotation voids them).
func (s *server) sessions() *session.Manager {
	return &session.Manager{Store: s.store, Secure: s.cfg.secureCookies, Now: s.cfg.now, DeviceKey: s.deviceKey}
}

// keyring loads the encryption keys: configured, or on SQLite a key file
// in the data dir. Replicas on PostgreSQL must share a configured key.
func (c *serverConfig) keyring(dialect string) (*seal.Keyring, error) {
	if c.EncryptionKey != "" {
		k, err := seal.Parse(c.EncryptionKey)
		if err != nil {
			return nil, fmt.Errorf("--encryption-key: %w", err)
		}
		return k, nil
	}
	if dialect == store.Postgres {
		return nil, errors.New("with PostgreSQL, every replica must use the same encryption key: " +
			"set --encryption-key or POLLHOOK_ENCRYPTION_KEY (generate one with: openssl rand -base64 32)")
	}
	return seal.LoadOrCreateFile(filepath.Join(c.DataDir, "encryption.key"))
}

// newServer takes the SQLite file's lock (see dbLock) before anything
// touches the database, opens it, sets up keys and the first credentials,
// and wires the API. Close releases the lock.
func newServer(ctx context.Context, cfg serverConfig, log *slog.Logger) (*server, error) {
	var lock *dbLock
	if path := sqlitePath(cfg.database()); path != "" {
		var err error
		if lock, err = lockDatabase(path); err != nil {
			return nil, err
		}
	}
	s, err := openServer(ctx, cfg, log)
	if err != nil {
		lock.Release()
		return nil, err
	}
	s.lock = lock
	return s, nil
}

func openServer(ctx context.Context, cfg serverConfig, log *slog.Logger) (*server, error) {
	limits, err := cfg.limits()
	if err != nil {
		return nil, err
	}
	if err := cfg.consoleSettings(); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.database())
	if err != nil {
		return nil, err
	}
	keys, err := cfg.keyring(st.Dialect())
	if err != nil {
		st.Close()
		return nil, err
	}
	s := &server{cfg: cfg, log: log, store: st, deviceKey: keys.Derive(session.DeviceKeyPurpose)}
	if s.credentials, err = bootstrap(ctx, st, cfg.DataDir); err != nil {
		st.Close()
		return nil, err
	}
	if s.credentials != "" {
		log.Info("created the first organization and user; their secrets are in the credentials file (readable by this user only)",
			"file", s.credentials)
	}
	allow, err := netguard.ParseAllowList(cfg.AllowUpstream)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("--allow-upstream: %w", err)
	}
	pace := insightly.NewLimits(cfg.InsightlyRate, cfg.InsightlyConcurrency)
	if st.Dialect() == store.Postgres {
		// Replicas share the database, and so each account's pace. One
		// process owns an SQLite file: its own limiter is the whole pace.
		sharePace(pace, st, log, cfg.InsightlyRate, cfg.InsightlyConcurrency)
	}
	els := element.NewRegistry(insightly.NewElement(insightly.Options{Upstreams: insightly.Upstreams{Allow: allow},
		Limits: pace}))
	s.instances = &instance.Service{Store: st, Elements: els, Keys: keys, AllowPrivateCallbacks: cfg.AllowPrivateCallbacks,
		VerifyTimeout: 30 * time.Second, Limits: limits}
	if cfg.RescueAfter != 0 && cfg.PollTimeout != 0 && cfg.RescueAfter <= cfg.PollTimeout {
		st.Close()
		return nil, fmt.Errorf("--job-rescue-after (%s) must be longer than --poll-timeout (%s)", cfg.RescueAfter, cfg.PollTimeout)
	}
	if cfg.QuotaReserve < 0 || cfg.QuotaReserve > 0.9 || math.IsNaN(cfg.QuotaReserve) {
		st.Close()
		return nil, fmt.Errorf("--quota-reserve (%v%%) must be from 0%% to 90%%", cfg.QuotaReserve*100)
	}
	if cfg.OrgMaxJobs < 0 {
		st.Close()
		return nil, fmt.Errorf("--org-max-jobs (%d) must be 0 (half of --workers) or more", cfg.OrgMaxJobs)
	}
	m := metrics.New(st, keys.Derive(metrics.AccountKeyPurpose))
	if s.jobs, err = jobs.New(ctx, jobs.Config{Store: st, Instances: s.instances, Logger: log, Now: cfg.now, Metrics: m,
		FetchInterval: cfg.fetchInterval, IntervalUnit: cfg.IntervalUnit, PollTimeout: cfg.PollTimeout,
		RescueAfter: cfg.RescueAfter, Workers: cfg.Workers, OrgMaxJobs: cfg.OrgMaxJobs, FirstPollSpread: cfg.FirstPollSpread, QuotaReserve: cfg.QuotaReserve, AllowPrivateCallbacks: cfg.AllowPrivateCallbacks, Schedule: cfg.schedule}); err != nil {
		st.Close()
		return nil, err
	}
	s.instances.Scheduler = s.jobs
	s.api = api.New(api.Config{Store: st, Instances: s.instances, Polls: s.jobs, Deliveries: s.jobs.Outbox(),
		Tester: s.jobs.Pipeline().Tester(), Logger: log, Version: Version})
	mux := http.NewServeMux()
	mux.Handle(api.BasePath+"/", s.api)
	con, err := console.New(console.Config{Store: st, Instances: s.instances, Polls: s.jobs, Sessions: s.sessions(), Hub: s.api, Outbox: s.jobs.Outbox(),
		Tester:  s.jobs.Pipeline().Tester(),
		Trusted: cfg.trustedProxies, PublicURL: cfg.PublicURL, Log: log})
	if err != nil {
		st.Close()
		return nil, err
	}
	mux.Handle("/", con)
	mux.Handle("GET /metrics", metrics.RequireToken(cfg.MetricsToken, m.Handler()))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := st.SchemaVersion(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	s.handler = mux
	return s, nil
}

// start runs the background work; stop (from run) ends it. It also checks
// every stored instance against this server's rules once (see
// instance.Service.Sweep), in the background: nothing waits for it.
func (s *server) start(ctx context.Context) error {
	if err := s.jobs.Start(ctx); err != nil {
		return err
	}
	s.swept = make(chan struct{})
	go func() {
		defer close(s.swept)
		res, err := s.instances.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("checking the stored instances", "err", err)
		case res.Refused+res.Allowed+res.Resealed > 0:
			s.log.Warn("checked the stored instances", "instances", res.Checked, "upstream_refused", res.Refused,
				"upstream_allowed_again", res.Allowed, "secrets_sealed", res.Resealed)
		}
	}()
	return nil
}

// stop lets jobs in flight finish for a while, then abandons them safely:
// a poll that did not commit is simply run again.
func (s *server) stop() {
	if s.swept != nil {
		<-s.swept
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.jobs.Stop(ctx); err == nil {
		return
	}
	// Jobs still running: cancel them. A cancelled poll commits nothing
	// and hands its job back at once (see jobs' pollOnce), so another
	// replica, or the next start, repeats it without waiting for a rescue.
	s.log.Warn("jobs still running after 20 s; cancelling them")
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.jobs.StopAndCancel(ctx); err != nil {
		s.log.Warn("stopping jobs", "err", err)
	}
}

func (s *server) Close() error {
	err := s.store.Close()
	s.lock.Release()
	return err
}

// Credentials are an organization and user secret pair and, for the
// first user, the console sign-in (Email and ConsolePassword).
type credentials struct {
	User, Organization string
	Email              string
	ConsolePassword    string
}

func (c credentials) header() string { return "User " + c.User + ", Organization " + c.Organization }

// bootstrap creates the first organization and user when there is none,
// and writes their secrets to a file only the owner can read. It returns
// the file's path, or "" when setup had been done before.
func bootstrap(ctx context.Context, st *store.Store, dataDir string) (string, error) {
	const email = "admin@pollhook.local"
	var creds credentials
	created := false
	if n, err := st.CountOrganizations(ctx); err != nil || n > 0 {
		return "", err // set up before: spare the password hashing
	}
	password := auth.NewPassword()
	hash, err := auth.HashPassword(password)
	if err != nil {
		return "", err
	}
	err = st.InTxLocked(ctx, func(tx *store.Tx) error {
		n, err := tx.CountOrganizations(ctx)
		if err != nil || n > 0 {
			return err
		}
		creds = credentials{User: auth.NewSecret(), Organization: auth.NewSecret(), Email: email, ConsolePassword: password}
		org := &store.Organization{Name: "default", SecretHash: auth.Hash(creds.Organization)}
		if err := tx.CreateOrganization(ctx, org); err != nil {
			return err
		}
		created = true
		return tx.CreateUser(ctx, &store.User{OrgID: org.ID, Email: email, FirstName: "pollhook",
			LastName: "admin", SecretHash: auth.Hash(creds.User), PasswordHash: hash})
	})
	if err != nil || !created {
		return "", err
	}
	path := filepath.Join(dataDir, "credentials")
	if err := writeCredentials(path, email, creds); err != nil {
		return "", fmt.Errorf("the first user was created but its secrets could not be saved (%w); "+
			"create another with 'pollhook users create'", err)
	}
	return path, nil
}

func writeCredentials(path, email string, c credentials) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	content := fmt.Sprintf("# pollhook API credentials for %s, created %s\n"+
		"# Send them as: Authorization: User <user secret>, Organization <organization secret>\n"+
		"POLLHOOK_USER_SECRET=%s\nPOLLHOOK_ORGANIZATION_SECRET=%s\nAUTHORIZATION=%q\n",
		email, time.Now().UTC().Format(time.RFC3339), c.User, c.Organization, c.header())
	if c.ConsolePassword != "" {
		content += fmt.Sprintf("# Sign in to the web console with this e-mail address and password\n"+
			"# (change it with: pollhook users set-password --email %s)\n"+
			"POLLHOOK_CONSOLE_EMAIL=%s\nPOLLHOOK_CONSOLE_PASSWORD=%s\n", email, email, c.ConsolePassword)
	}
	return os.WriteFile(path, []byte(content), 0o600)
}

// readCredentials reads a credentials file written by writeCredentials.
func readCredentials(path string) (credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return credentials{}, err
	}
	var c credentials
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "POLLHOOK_USER_SECRET="); ok {
			c.User = v
		}
		if v, ok := strings.CutPrefix(line, "POLLHOOK_ORGANIZATION_SECRET="); ok {
			c.Organization = v
		}
		if v, ok := strings.CutPrefix(line, "POLLHOOK_CONSOLE_EMAIL="); ok {
			c.Email = v
		}
		if v, ok := strings.CutPrefix(line, "POLLHOOK_CONSOLE_PASSWORD="); ok {
			c.ConsolePassword = v
		}
	}
	if c.User == "" || c.Organization == "" {
		return c, fmt.Errorf("%s holds no pollhook credentials", path)
	}
	return c, nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", format)
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pollhook serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg serverConfig
	cfg.flags(fs)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if err := cfg.envError(stderr, "pollhook serve"); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pollhook serve: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	log, err := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintln(stderr, "pollhook serve:", err)
		return errUsage
	}
	srv, err := newServer(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if err := srv.start(ctx); err != nil {
		return err
	}
	defer srv.stop()
	fmt.Fprintf(stdout, "pollhook %s listening on http://%s%s (database: %s)\n", Version, ln.Addr(), api.BasePath, srv.store.Dialect())
	return serveHTTP(ctx, ln, srv.handler, log)
}

// serveHTTP serves until ctx ends, then shuts down gracefully.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
