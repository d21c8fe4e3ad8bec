package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// SnapshotsConfig sizes the snapshots benchmark.
type SnapshotsConfig struct {
	Database string // "" for a temporary SQLite file
	Records  int    // contacts, as the simulator generates them; default 100,000
	PageSize int    // records per transaction, as a baseline scan writes them; default 500
	Seed     uint64
	Progress func(format string, args ...any)
}

// SnapshotsResult is what it measured.
type SnapshotsResult struct {
	Dialect    string
	Records    int
	RawBytes   float64       // a record's JSON, as Insightly sends it, on average
	Stored     float64       // its snapshot as stored (deflated), on average
	Plain      time.Duration // writing every record's state without a snapshot: the same-run baseline
	Snapshots  time.Duration // writing every record's state with its snapshot, as a baseline scan does
	ReadPage   time.Duration // reading a page of states with their snapshots (inflated), median
	Pages      int
	UpstreamAt float64 // requests per second the upstream allows (Insightly's default pace)
}

// Snapshots measures what record snapshots cost: bytes per record stored,
// and a baseline scan's database work for Records records beside writing
// the same states without snapshots. The upstream's part (one listing
// request per 500 records) is computed, not measured: it is Insightly's
// pace.
func Snapshots(ctx context.Context, cfg SnapshotsConfig) (*SnapshotsResult, error) {
	cfg.Records = max(cfg.Records, 0)
	if cfg.Records == 0 {
		cfg.Records = 100_000
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 500
	}
	progress := quietIfNil(cfg.Progress)
	progress("generating %d contacts", cfg.Records)
	s := sim.New(sim.Config{Records: cfg.Records, Seed: cfg.Seed})
	recs, err := s.Records(s.APIKey(), "Contacts")
	if err != nil {
		return nil, err
	}
	raws := make(map[string][]byte, len(recs))
	var rawBytes int
	for _, r := range recs {
		b, _ := json.Marshal(r)
		raws[fmt.Sprint(r["CONTACT_ID"])] = b
		rawBytes += len(b)
	}
	st, _, closeStore, err := openStore(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	inst, err := storedInstance(ctx, st, "snapshots")
	if err != nil {
		return nil, err
	}
	if _, _, err := st.SyncPolls(ctx, inst.ID, []string{"plain", "contacts"}, 15*time.Minute, time.Now()); err != nil {
		return nil, err
	}
	res := &SnapshotsResult{Dialect: st.Dialect(), Records: len(raws), RawBytes: float64(rawBytes) / float64(len(raws)), UpstreamAt: 5}
	ids := make([]string, 0, len(raws))
	for id := range raws {
		ids = append(ids, id)
	}
	write := func(resource string, withSnapshots bool) (time.Duration, error) {
		start := time.Now()
		for i := 0; i < len(ids); i += cfg.PageSize {
			page := map[string][]byte{}
			for _, id := range ids[i:min(i+cfg.PageSize, len(ids))] {
				if withSnapshots {
					page[id] = raws[id]
				} else {
					page[id] = nil
				}
			}
			if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.PutSnapshots(ctx, inst.ID, resource, page) }); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}
	progress("writing %d states without snapshots (the baseline)", len(ids))
	if res.Plain, err = write("plain", false); err != nil {
		return nil, err
	}
	progress("writing %d states with their snapshots (a baseline scan)", len(ids))
	if res.Snapshots, err = write("contacts", true); err != nil {
		return nil, err
	}
	res.Pages = (len(ids) + cfg.PageSize - 1) / cfg.PageSize
	var stored int64
	if err := st.DB().QueryRowContext(ctx, `SELECT SUM(LENGTH(snapshot)) FROM seen WHERE resource = 'contacts'`).Scan(&stored); err != nil {
		return nil, err
	}
	res.Stored = float64(stored) / float64(len(ids))
	var reads []time.Duration
	for i := 0; i < len(ids) && len(reads) < 50; i += cfg.PageSize {
		start := time.Now()
		got, err := st.SeenFor(ctx, inst.ID, "contacts", ids[i:min(i+cfg.PageSize, len(ids))])
		if err != nil {
			return nil, err
		}
		reads = append(reads, time.Since(start))
		if len(got) == 0 {
			return nil, fmt.Errorf("bench: no snapshot read back")
		}
	}
	slices.Sort(reads)
	res.ReadPage = percentile(reads, 0.5)
	return res, nil
}

// Format prints the result.
func (r *SnapshotsResult) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "snapshots on %s: %d contacts, as the simulator generates them\n", r.Dialect, r.Records)
	fmt.Fprintf(&b, "  a record's JSON                %8.0f B\n", r.RawBytes)
	fmt.Fprintf(&b, "  its snapshot, stored           %8.0f B  (%.2f × the JSON)\n", r.Stored, r.Stored/r.RawBytes)
	fmt.Fprintf(&b, "  states without snapshots       %8s  (baseline)\n", r.Plain.Round(time.Millisecond))
	fmt.Fprintf(&b, "  states with snapshots          %8s  (%.2f × the baseline; %d transactions of %d)\n",
		r.Snapshots.Round(time.Millisecond), float64(r.Snapshots)/float64(r.Plain), r.Pages, (r.Records+r.Pages-1)/r.Pages)
	fmt.Fprintf(&b, "  a page of states, read back    %8s  (median, inflated)\n", r.ReadPage.Round(time.Microsecond))
	fmt.Fprintf(&b, "  the baseline's upstream part   %8d requests, %s at %.0f requests/s\n", r.Pages,
		(time.Duration(float64(r.Pages)/r.UpstreamAt) * time.Second).Round(time.Second), r.UpstreamAt)
	return b.String()
}
