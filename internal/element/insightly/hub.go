package insightly

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/element/ceql"
)

// Hub paging defaults.
const (
	PageSizeDefault = 200
	// ScanLimitDefault bounds how many records a list may read to evaluate
	// a where clause that has nothing Insightly can filter on.
	ScanLimitDefault = 20_000
)

// conn is one instance's hub on Insightly.
type conn struct {
	client    *Client
	scanLimit int
}

var (
	_ element.Conn          = (*conn)(nil)
	_ element.Gate          = (*conn)(nil)
	_ element.QuotaReporter = (*conn)(nil)
)

// Reserve takes the account's slot and token for the connection's next
// request without waiting (see Client.Reserve).
func (c *conn) Reserve() (bool, time.Duration) { return c.client.Reserve() }

// Release gives back a reservation no request used.
func (c *conn) Release() { c.client.Release() }

// Identify checks the key with GET /Instance and GET /Users/Me and names
// the account by API host and subdomain.
func (c *conn) Identify(ctx context.Context) (element.Identity, error) {
	var inst struct {
		Name      string `json:"INSTANCE_NAME"`
		Subdomain string `json:"INSTANCE_SUBDOMAIN"`
		Plan      string `json:"PLAN_NAME"`
	}
	var me struct {
		ID    int64  `json:"USER_ID"`
		Email string `json:"EMAIL_ADDRESS"`
	}
	for _, call := range []struct {
		path string
		into any
	}{{"Users/Me", &me}, {"Instance", &inst}} {
		resp, err := c.client.Do(ctx, http.MethodGet, call.path, nil, nil)
		if err != nil {
			return element.Identity{}, hubError(err)
		}
		if err := json.Unmarshal(resp.Body, call.into); err != nil {
			return element.Identity{}, element.Errorf(http.StatusBadGateway, "Insightly answered %s with something that is not a %s record", call.path, call.path)
		}
	}
	return element.Identity{
		Account: c.client.base.Host + "/" + inst.Subdomain,
		Name:    inst.Name,
		User:    me.Email,
		Plan:    inst.Plan,
	}, nil
}

// hubError turns a client error into the status the hub API answers.
func hubError(err error) error {
	var q *QuotaError
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &q):
		return &element.Error{Status: http.StatusTooManyRequests, Err: errors.Join(err, &element.Backoff{Until: q.Reset, Quota: true}),
			Message: fmt.Sprintf("Insightly's daily API quota for this account is spent until %s", q.Reset.UTC().Format(time.RFC3339))}
	case errors.As(err, &e) && !e.RetryAt.IsZero():
		return &element.Error{Status: http.StatusTooManyRequests, Err: errors.Join(err, &element.Backoff{Until: e.RetryAt}),
			Message: "Insightly is rate limiting this account until " + e.RetryAt.UTC().Format(time.RFC3339)}
	case errors.Is(err, ErrSharedPace):
		return &element.Error{Status: http.StatusServiceUnavailable, Message: "the account's pace, shared with pollhook's other replicas, could not be read", Err: err}
	case errors.Is(err, ErrUnstablePaging):
		return &element.Error{Status: http.StatusServiceUnavailable, Message: "Insightly's results kept changing while being read; try again", Err: err}
	case errors.Is(err, element.ErrUpstreamNotAllowed):
		msg, _ := describeNotAllowed(err)
		return &element.Error{Status: http.StatusBadGateway, Message: msg, Err: err}
	case errors.Is(err, element.ErrTooManyPages):
		return &element.Error{Status: http.StatusBadGateway, Message: "Insightly's results did not end: " + err.Error(), Err: err}
	case errors.Is(err, errTooLarge):
		return &element.Error{Status: http.StatusBadGateway, Message: fmt.Sprintf("Insightly's answer was larger than %d MiB", MaxResponse>>20), Err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &element.Error{Status: http.StatusGatewayTimeout, Message: "Insightly did not answer in time", Err: err}
	case errors.As(err, &e):
		status, msg := http.StatusBadGateway, "Insightly is unavailable"
		switch {
		case errors.Is(err, ErrUnauthorized):
			status, msg = http.StatusUnauthorized, "Insightly refused the instance's API key"
		case errors.Is(err, ErrForbidden):
			status, msg = http.StatusForbidden, "Insightly denies this user access to it"
		case errors.Is(err, ErrNotFound):
			status, msg = http.StatusNotFound, "Insightly has no such record or object"
		case errors.Is(err, ErrInvalid):
			status, msg = http.StatusBadRequest, "Insightly refused the request"
		case errors.Is(err, ErrRateLimited):
			status, msg = http.StatusTooManyRequests, "Insightly is rate limiting this account"
		}
		if e.Message != "" {
			msg += ": " + e.Message
		}
		return &element.Error{Status: status, Message: msg, Err: err}
	}
	return &element.Error{Status: http.StatusBadGateway, Message: "calling Insightly failed", Err: err}
}

// pageToken is the nextPage token. It carries the scan position so the
// next page resumes where this one stopped, and a digest of the where
// clause so a token cannot be replayed against another query.
type pageToken struct {
	Page     int    `json:"page"`
	PageSize int    `json:"pageSize"`
	Skip     int    `json:"skip,omitempty"`
	After    int64  `json:"after,omitempty"`
	Where    string `json:"where,omitempty"`
}

func (t pageToken) encode() string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Page < 2 || t.PageSize < 1 || t.PageSize > PageSizeMax || t.Skip < 0 || t.Skip > MaxSkip || t.After < 0 {
		return t, element.Errorf(http.StatusBadRequest, "nextPage: not a page token this server issued")
	}
	if t.Page > lastPage(t.PageSize) {
		return t, element.Errorf(http.StatusBadRequest, "nextPage: the token's page is beyond the last one Insightly can serve at its page size (%d)", lastPage(t.PageSize))
	}
	return t, nil
}

// lastPage is the largest page number whose offset, (page-1)*pageSize,
// is at most MaxSkip. Checking against it keeps the product from
// overflowing.
func lastPage(pageSize int) int { return MaxSkip/pageSize + 1 }

func whereDigest(where string) string {
	if where == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(where))
	return hex.EncodeToString(sum[:6])
}

// List reads one page. A where clause Insightly can apply exactly pages
// by offset upstream; anything else is read with Scan and filtered here,
// the token remembering where the scan stopped.
func (c *conn) List(ctx context.Context, resName string, req element.ListRequest) (*element.ListResult, error) {
	r, err := resolve(resName)
	if err != nil {
		return nil, err
	}
	if r.me {
		res, err := c.Get(ctx, resName, "")
		if err != nil {
			return nil, err
		}
		return &element.ListResult{Records: []json.RawMessage{res.Record}, Date: res.Date}, nil
	}
	where, err := ceql.Parse(req.Where)
	if err != nil {
		return nil, element.Errorf(http.StatusBadRequest, "where: %v", err)
	}
	p, err := planWhere(where)
	if err != nil {
		return nil, err
	}
	tok := pageToken{Page: max(req.Page, 1), PageSize: req.PageSize, Where: whereDigest(req.Where)}
	if tok.PageSize == 0 {
		tok.PageSize = PageSizeDefault
	}
	if tok.PageSize < 1 || tok.PageSize > PageSizeMax {
		return nil, element.Errorf(http.StatusBadRequest, "pageSize: %d is not between 1 and %d", req.PageSize, PageSizeMax)
	}
	if req.NextPage != "" {
		t, err := decodeToken(req.NextPage)
		if err != nil {
			return nil, err
		}
		if t.Where != tok.Where {
			return nil, element.Errorf(http.StatusBadRequest, "nextPage: the token belongs to a different where clause")
		}
		tok = t
	} else if tok.Page > lastPage(tok.PageSize) {
		return nil, element.Errorf(http.StatusBadRequest, "page: %d is beyond the last page Insightly can serve with pageSize %d (%d): "+
			"it skips at most %d records", req.Page, tok.PageSize, lastPage(tok.PageSize), MaxSkip)
	}

	if p.residual == nil {
		page, err := c.client.List(ctx, r.object, p.query, (tok.Page-1)*tok.PageSize, tok.PageSize, false)
		if err != nil {
			return nil, hubError(err)
		}
		out := &element.ListResult{Records: raws(page.Records), Date: page.Date}
		if len(page.Records) == tok.PageSize {
			out.NextPage = pageToken{Page: tok.Page + 1, PageSize: tok.PageSize, Where: tok.Where}.encode()
		}
		return out, nil
	}

	// Filter locally. Without a token, pages before this one are skipped
	// by counting matches from the start.
	skipMatches := 0
	if req.NextPage == "" {
		skipMatches = (tok.Page - 1) * tok.PageSize
	}
	out := &element.ListResult{Records: []json.RawMessage{}}
	examined := 0
	res, err := c.client.Scan(ctx, r.object, r.pk, p.query, ScanOptions{Skip: tok.Skip, After: tok.After}, func(rec *element.Record) error {
		examined++
		if p.query == (Query{}) && examined > c.scanLimit {
			return element.Errorf(http.StatusBadRequest, "where: %s has nothing Insightly can filter on (updated_after_utc, "+
				"tag, or one field equality) and would read more than %d records; add one of those", where, c.scanLimit)
		}
		ok, err := p.matches(rec)
		if err != nil || !ok {
			return err
		}
		if skipMatches > 0 {
			skipMatches--
			return nil
		}
		if len(out.Records) == tok.PageSize {
			return ErrStopScan // one more match exists: there is a next page
		}
		out.Records = append(out.Records, rec.Raw)
		return nil
	})
	if err != nil {
		var ee *element.Error
		if errors.As(err, &ee) {
			return nil, ee
		}
		return nil, hubError(err)
	}
	out.Date = res.Date
	if !res.Done {
		out.NextPage = pageToken{Page: tok.Page + 1, PageSize: tok.PageSize, Skip: res.Skip, After: res.After, Where: tok.Where}.encode()
	}
	return out, nil
}

func raws(recs []*element.Record) []json.RawMessage {
	out := make([]json.RawMessage, len(recs))
	for i, r := range recs {
		out[i] = r.Raw
	}
	return out
}

// Scan reads every record of the resource matching where, for the poller.
func (c *conn) Scan(ctx context.Context, resName string, where ceql.Expr, opts element.ScanOptions, fn func(*element.Record) error) (element.ScanResult, error) {
	r, err := resolve(resName)
	if err != nil {
		return element.ScanResult{}, err
	}
	if r.me {
		return element.ScanResult{}, element.Errorf(http.StatusBadRequest, "%s is a single record, not a list", resName)
	}
	p, err := planWhere(where)
	if err != nil {
		return element.ScanResult{}, err
	}
	matched := 0
	q := p.query
	q.Brief = opts.Brief
	so := ScanOptions{PageSize: opts.PageSize, MaxPages: opts.MaxPages}
	if opts.Resume != "" {
		if so.Skip, so.After, err = decodePosition(opts.Resume); err != nil {
			return element.ScanResult{}, err
		}
	}
	if opts.Checkpoint != nil {
		so.AfterPage = func(res ScanResult, date time.Time) error {
			return opts.Checkpoint(encodePosition(res.Skip, res.After), date, res.Done)
		}
	}
	res, err := c.client.Scan(ctx, r.object, r.pk, q, so, func(rec *element.Record) error {
		ok, err := p.matches(rec)
		if err != nil || !ok {
			return err
		}
		matched++
		return fn(rec)
	})
	out := element.ScanResult{Date: res.Date, Pages: res.Pages, Records: matched}
	var ee *element.Error
	if err != nil && !errors.As(err, &ee) {
		err = hubError(err)
	}
	return out, err
}

var numericID = regexp.MustCompile(`^[0-9]{1,19}$`)

func checkID(id string) error {
	if !numericID.MatchString(id) {
		return element.Errorf(http.StatusBadRequest, "id: %q is not an Insightly record ID (a number)", id)
	}
	return nil
}

// Get reads one record; for "me", the authenticated user.
func (c *conn) Get(ctx context.Context, resName, id string) (*element.Result, error) {
	r, err := resolve(resName)
	if err != nil {
		return nil, err
	}
	path := r.object
	if !r.me {
		if err := checkID(id); err != nil {
			return nil, err
		}
		path += "/" + id
	}
	resp, err := c.client.Do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, hubError(err)
	}
	return &element.Result{Record: resp.Body, Date: resp.Date}, nil
}

// writable resolves a resource that accepts writes.
func writable(resName string) (resource, error) {
	r, err := resolve(resName)
	if err == nil && r.readOnly {
		err = element.Errorf(http.StatusMethodNotAllowed, "%s is read-only", resName)
	}
	return r, err
}

// decodeBody reads a JSON object body with numbers kept exact.
func decodeBody(body json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, element.Errorf(http.StatusBadRequest, "body: must be a JSON object")
	}
	if dec.More() {
		return nil, element.Errorf(http.StatusBadRequest, "body: unexpected data after the JSON object")
	}
	return m, nil
}

// Create posts the body as is: records use Insightly's native field names.
func (c *conn) Create(ctx context.Context, resName string, body json.RawMessage) (*element.Result, error) {
	r, err := writable(resName)
	if err != nil {
		return nil, err
	}
	if _, err := decodeBody(body); err != nil {
		return nil, err
	}
	resp, err := c.client.Do(ctx, http.MethodPost, r.object, nil, body)
	if err != nil {
		return nil, hubError(err)
	}
	return &element.Result{Record: resp.Body, Date: resp.Date}, nil
}

// Update sends PUT /{Object} with the ID in the body, the documented form.
// Insightly's v3.1 PUT is already partial, so PUT and PATCH behave alike:
// fields left out keep their values.
func (c *conn) Update(ctx context.Context, resName, id string, body json.RawMessage, patch bool) (*element.Result, error) {
	r, err := writable(resName)
	if err != nil {
		return nil, err
	}
	if err := checkID(id); err != nil {
		return nil, err
	}
	m, err := decodeBody(body)
	if err != nil {
		return nil, err
	}
	if v, ok := m[r.pk]; ok && fmt.Sprint(v) != id {
		return nil, element.Errorf(http.StatusBadRequest, "body: %s is %v but the URL names %s", r.pk, v, id)
	}
	m[r.pk] = json.Number(id)
	b, err := json.Marshal(m)
	if err != nil {
		return nil, element.Errorf(http.StatusBadRequest, "body: %v", err)
	}
	resp, err := c.client.Do(ctx, http.MethodPut, r.object, nil, b)
	if err != nil {
		return nil, hubError(err)
	}
	return &element.Result{Record: resp.Body, Date: resp.Date}, nil
}

// Delete removes a record (to Insightly's recycle bin).
func (c *conn) Delete(ctx context.Context, resName, id string) error {
	r, err := writable(resName)
	if err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	_, err = c.client.Do(ctx, http.MethodDelete, r.object+"/"+id, nil, nil)
	return hubError(err)
}

// Quota reports the account's daily quota as Insightly last stated it.
func (c *conn) Quota() (limit, remaining int, offset time.Duration) {
	q := c.client.Limiter().Quota()
	return q.Limit, q.Remaining, q.Offset
}

// A scan position is "skip:after": the offset to read from next and the
// highest ID already given (see ScanOptions.Skip and After).
func encodePosition(skip int, after int64) string {
	return strconv.Itoa(skip) + ":" + strconv.FormatInt(after, 10)
}

func decodePosition(pos string) (int, int64, error) {
	a, b, ok := strings.Cut(pos, ":")
	skip, err1 := strconv.Atoi(a)
	after, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || skip < 0 || after < 0 || skip > MaxSkip {
		return 0, 0, fmt.Errorf("insightly: %q is not a scan position", pos)
	}
	return skip, after, nil
}
