package app

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/bench"
)

// A short `pollhook bench soak`: serve, the simulator and the receiver
// as processes of this test binary (TestMain), the faults and restarts
// of a long soak compressed into a minute. It checks correctness only —
// nothing lost, repeats only as retries with the same id — not how the
// resources behaved over time, which a minute cannot show.
func TestSoakShort(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("soak: runs for about 90 s")
	}
	res, err := bench.Soak(context.Background(), bench.SoakConfig{Duration: time.Minute, SampleEvery: 2 * time.Second,
		Seed: uint64(time.Now().UnixNano()), Executable: os.Args[0], Env: []string{"POLLHOOK_TEST_AS_MAIN=1"}, Progress: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + res.Format())
	if res.Lost != 0 || res.DuplicateContent != 0 || res.BadSignatures != 0 || len(res.Violations) != 0 {
		t.Errorf("lost %d, duplicates by content %d, bad signatures %d, violations %d (files in %s)",
			res.Lost, res.DuplicateContent, res.BadSignatures, len(res.Violations), res.Dir)
	}
	if res.Changes == 0 || res.Events == 0 {
		t.Errorf("nothing to check: %d changes, %d events received", res.Changes, res.Events)
	}
}
