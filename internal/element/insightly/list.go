package insightly

import (
	"context"
	"errors"
	"fmt"
	"github.com/pollhook/pollhook/internal/element"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// PageSizeMax is the largest page Insightly serves.
const PageSizeMax = 500

// MaxSkip is the largest offset (skip) pollhook asks Insightly for.
// Insightly reads skip as a 32-bit signed integer (larger values are a
// 400 "not valid for skip"), and no account holds two billion records of
// one object, so a larger offset can only be a mistake or a forgery.
// Bounding it also keeps (page-1)*pageSize from overflowing.
const MaxSkip = math.MaxInt32

// Query selects records of one object. At most one of the filters is sent
// upstream per call, as the v2.2 swagger demanded and v3.1 leaves unclear:
// the hub evaluates any others itself.
type Query struct {
	// UpdatedAfter selects DATE_UPDATED_UTC strictly after this second
	// (Insightly compares to the second, exclusively). Uses /Search.
	UpdatedAfter time.Time
	// FieldName and FieldValue select an exact (server-side) match. Uses /Search.
	FieldName, FieldValue string
	// Tag selects records carrying this tag. Uses /SearchByTag.
	Tag string
	// Brief drops sub-collections (TAGS, LINKS, CUSTOMFIELDS…).
	Brief bool
}

func (q Query) request(object string) (string, url.Values, error) {
	v := url.Values{}
	n := 0
	if !q.UpdatedAfter.IsZero() {
		n++
		v.Set("updated_after_utc", q.UpdatedAfter.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z"))
	}
	if q.FieldName != "" {
		n++
		v.Set("field_name", q.FieldName)
		v.Set("field_value", q.FieldValue)
	}
	if q.Tag != "" {
		n++
		v.Set("tagName", q.Tag)
	}
	if n > 1 {
		return "", nil, errors.New("insightly: a query sends one filter at most")
	}
	if q.Brief {
		v.Set("brief", "true")
	}
	switch {
	case q.Tag != "":
		return object + "/SearchByTag", v, nil
	case n == 1:
		return object + "/Search", v, nil
	}
	return object, v, nil
}

// Page is one page of records.
type Page struct {
	Records []*element.Record
	// Date is the upstream clock at the response.
	Date time.Time
	// Total is X-Total-Count when asked for with count, else -1.
	Total int
}

// List reads one page: top records (at most 500) from offset skip, in
// ascending ID order, as Insightly always orders.
func (c *Client) List(ctx context.Context, object string, q Query, skip, top int, count bool) (*Page, error) {
	path, v, err := q.request(object)
	if err != nil {
		return nil, err
	}
	if top < 1 || top > PageSizeMax {
		return nil, fmt.Errorf("insightly: page size %d is not between 1 and %d", top, PageSizeMax)
	}
	v.Set("top", strconv.Itoa(top))
	if skip > 0 {
		v.Set("skip", strconv.Itoa(skip))
	}
	if count {
		v.Set("count_total", "true")
	}
	resp, err := c.Do(ctx, http.MethodGet, path, v, nil)
	if err != nil {
		return nil, err
	}
	recs, err := decodePage(resp.Body)
	if err != nil {
		return nil, &Error{Method: http.MethodGet, Path: "/" + path, Status: resp.Status, Date: resp.Date,
			Message: "the answer is not a JSON array of records", kind: ErrUnavailable, cause: err}
	}
	return &Page{Records: recs, Date: resp.Date, Total: resp.TotalCount}, nil
}

// Get reads one record.
func (c *Client) Get(ctx context.Context, object string, id string) (*element.Record, *Response, error) {
	resp, err := c.Do(ctx, http.MethodGet, object+"/"+url.PathEscape(id), nil, nil)
	if err != nil {
		return nil, nil, err
	}
	return element.NewRecord(resp.Body), resp, nil
}
