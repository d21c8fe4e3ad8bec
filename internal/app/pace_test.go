package app

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/seal"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/testdb"
)

// Three replicas polling one Insightly account hold one pace and one
// in-flight cap between them (issue 20): the account sees no more than
// --insightly-rate and --insightly-concurrency, and never a 429, although
// its polls ask for far more and each replica alone would stay within
// both. The simulator is a little looser than the pace, as Insightly is
// than pollhook's defaults.
func TestSharedPaceAcrossReplicas(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("shared pace test: runs three replicas for about 15 seconds")
	}
	const rate, burst, inFlight = 4, 4, 2 // burst: the pace's, the rate rounded down
	dsn := testdb.FreshSchema(t, testdb.PostgresURL(t))
	// No daily quota: polls every second would be stretched to keep the
	// quota's reserve (TestQuotaStretch*), and this test needs the demand.
	s := sim.New(sim.Config{Records: 30, Seed: 1, RateLimit: rate + 1, MaxConcurrent: inFlight, DailyQuota: -1})
	// Requests stay in flight long enough for the cap to matter: three
	// replicas' two slots each would overlap.
	s.SetFaults(sim.Faults{Latency: sim.Duration(300 * time.Millisecond)})
	simSrv := httptest.NewServer(s.Handler())
	t.Cleanup(simSrv.Close)
	// Later flags win over startProcess's unpaced defaults.
	args := []string{"--database", dsn, "--encryption-key", seal.NewKey("k1"), "--interval-unit", "1s",
		"--insightly-rate", strconv.Itoa(rate), "--insightly-concurrency", strconv.Itoa(inFlight)}
	dirA := t.TempDir()
	replicas := []*process{startProcess(t, append(args, "--data-dir", dirA)...)}
	creds, err := readCredentials(filepath.Join(dirA, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		replicas = append(replicas, startProcess(t, append(args, "--data-dir", t.TempDir())...))
	}
	hook := newHookServer(t, func() int { return 200 })
	// Four instances of the one account, four resources each, every
	// second: 16 polls a second asking for 4 requests.
	for i := range 4 {
		createPolled(t, replicas[i%3], creds, s, simSrv.URL+"/v3.1", fmt.Sprintf("%s/hook/%d", hook.srv.URL, i))
	}
	// Counted from here: creating an instance identifies its account under
	// a key of its API key, which the polls, keyed by the account, do not
	// share (see the report of issue 20).
	s.ResetStats()
	began := time.Now()
	time.Sleep(8 * time.Second)
	got, elapsed := s.Stats()[0], time.Since(began)
	for _, p := range replicas {
		p.kill()
	}
	t.Logf("over %s: %+v", elapsed.Round(time.Millisecond), got)
	// Requests taken before the count began and sent after it: at most
	// the slots.
	if most := int(elapsed.Seconds()*rate) + burst + inFlight; got.Requests > most {
		t.Errorf("%d requests in %s, want at most %d (%d/s, burst %d)", got.Requests, elapsed, most, rate, burst)
	}
	if least := int(elapsed.Seconds() * rate / 2); got.Requests < least {
		t.Errorf("%d requests in %s, want at least %d: the replicas hardly polled", got.Requests, elapsed, least)
	}
	if got.MaxPerSecond > rate+burst {
		t.Errorf("%d requests within one second, want at most %d", got.MaxPerSecond, rate+burst)
	}
	if got.MaxInFlight > inFlight {
		t.Errorf("%d requests in flight at once, want at most %d", got.MaxInFlight, inFlight)
	}
	if got.TooMany > 0 {
		t.Errorf("the account answered %d 429s, want none", got.TooMany)
	}
}
