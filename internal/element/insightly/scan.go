package insightly

import (
	"context"
	"errors"
	"fmt"
	"github.com/pollhook/pollhook/internal/element"
	"time"
)

// ErrStopScan, returned by a Scan callback, ends the scan early without error.
var ErrStopScan = errors.New("insightly: stop scan")

// ErrUnstablePaging means the result set kept shifting under a scan (records
// deleted faster than pages could be read) and it gave up rather than risk
// skipping records. Retrying later is safe.
var ErrUnstablePaging = errors.New("insightly: paging did not settle")

// ScanOptions tunes Scan. Zero values take the defaults.
type ScanOptions struct {
	// PageSize is the records per request; default and maximum 500.
	PageSize int
	// Overlap is how many records each page re-reads from the one before;
	// default a tenth of the page. Up to Overlap-1 deletions below the
	// offset between two reads cost nothing; more cost a step back.
	Overlap int
	// MaxStepBacks bounds re-reads before ErrUnstablePaging; default 100.
	MaxStepBacks int
	// MaxPages bounds the requests (0: none); reaching it before the end
	// fails with element.ErrTooManyPages.
	MaxPages int
	// AfterPage, when set, is called once each page's records were given
	// to fn, with the scan so far: its Skip and After resume the scan
	// after that page, and Date is that page's upstream clock.
	AfterPage func(res ScanResult, date time.Time) error
	// Skip and After resume an earlier scan (see ScanResult): start at
	// offset Skip and yield only IDs greater than After.
	Skip  int
	After int64
}

// ScanResult tells how a scan went and where it stopped.
type ScanResult struct {
	// Date is the upstream clock at the first response.
	Date time.Time
	// Pages, StepBacks and Records count requests, re-reads and records yielded.
	Pages, StepBacks, Records int
	// Done is true when the scan reached the end of the results.
	Done bool
	// Skip and After resume a stopped scan (ScanOptions.Skip, .After).
	Skip  int
	After int64
}

// Scan calls fn once for every record of object matching q, in ascending
// ID order, reading every page.
//
// Insightly pages by offset over a list in ID order, so a record deleted
// below the offset between two page reads shifts the rest left and a naive
// pager skips the record at the boundary. Scan overlaps its pages and
// checks the anchor: each page must start at or before the highest ID
// already seen; if it starts after, records may have slid past, and Scan
// steps back and reads again. It yields only IDs above the highest seen,
// so overlaps and re-reads never repeat a record. A record that exists for
// the whole scan is always yielded; one that enters the results during the
// scan below the current position is left for the next scan.
func (c *Client) Scan(ctx context.Context, object, pk string, q Query, opt ScanOptions, fn func(*element.Record) error) (ScanResult, error) {
	size := opt.PageSize
	if size <= 0 || size > PageSizeMax {
		size = PageSizeMax
	}
	overlap := opt.Overlap
	if overlap <= 0 {
		overlap = max(size/10, 1)
	}
	step := max(size-overlap, 1)
	maxBack := opt.MaxStepBacks
	if maxBack <= 0 {
		maxBack = 100
	}

	res := ScanResult{Skip: max(opt.Skip, 0), After: opt.After}
	seen := opt.After > 0 // whether res.After is an anchor
	for {
		page, err := c.List(ctx, object, q, res.Skip, size, false)
		if err != nil {
			return res, err
		}
		res.Pages++
		if res.Date.IsZero() {
			res.Date = page.Date
		}
		recs := page.Records
		ids := make([]int64, len(recs))
		for i, r := range recs {
			id, ok := r.ID(pk)
			if !ok {
				return res, fmt.Errorf("insightly: a %s record has no integer %s", object, pk)
			}
			if i > 0 && id <= ids[i-1] {
				return res, fmt.Errorf("insightly: %s came back out of ID order (%d after %d)", object, id, ids[i-1])
			}
			ids[i] = id
		}
		if res.Skip > 0 && seen && (len(ids) == 0 || ids[0] > res.After) {
			// Records we have not read may have slid below this offset.
			if res.StepBacks >= maxBack {
				return res, ErrUnstablePaging
			}
			res.StepBacks++
			res.Skip = max(res.Skip-step, 0)
			continue
		}
		for i, r := range recs {
			if seen && ids[i] <= res.After {
				continue
			}
			if err := fn(r); err != nil {
				if errors.Is(err, ErrStopScan) {
					return res, nil
				}
				return res, err
			}
			res.After, seen = ids[i], true
			res.Records++
		}
		if len(recs) < size {
			res.Done = true
		} else {
			res.Skip += step
		}
		if opt.AfterPage != nil {
			if err := opt.AfterPage(res, page.Date); err != nil {
				return res, err
			}
		}
		if res.Done {
			return res, nil
		}
		if opt.MaxPages > 0 && res.Pages >= opt.MaxPages {
			return res, fmt.Errorf("insightly: %s: %w (%d pages of %d records)", object, element.ErrTooManyPages, res.Pages, size)
		}
	}
}
