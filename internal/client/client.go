// Package client talks to a running pollhook server's API, for the
// command-line client commands: requests carry the organization's
// secrets, errors carry the server's message, lists follow page tokens.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// BasePath is where the API lives under the server URL.
const BasePath = "/elements/api-v2"

// Client is one server and the secrets to use with it.
type Client struct {
	Server             string // http://host:port, with or without BasePath
	UserSecret         string
	OrganizationSecret string
	// Element, when set, is an instance token: requests then act as the
	// instance (the hub API), with the user secret.
	Element string
	HTTP    *http.Client
}

// Error is a refusal from the server.
type Error struct {
	Status    int
	Message   string
	RequestID string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.RequestID != "" {
		msg += " (request " + e.RequestID + ")"
	}
	return msg
}

// IsNotFound reports whether err is the server's 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

func (c *Client) base() string {
	s := strings.TrimRight(c.Server, "/")
	if !strings.HasSuffix(s, BasePath) {
		s += BasePath
	}
	return s
}

// Do sends a request to path (under BasePath, with its query) and
// decodes a JSON answer into out (unless nil). It returns the response
// headers.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) (http.Header, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base()+path, rd)
	if err != nil {
		return nil, err
	}
	if c.Element != "" {
		req.Header.Set("Authorization", "User "+c.UserSecret+", Element "+c.Element)
	} else {
		req.Header.Set("Authorization", "User "+c.UserSecret+", Organization "+c.OrganizationSecret)
	}
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the pollhook server at %s: %w", c.Server, unwrapURL(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		var b struct{ Message, RequestID string }
		if json.Unmarshal(raw, &b) == nil {
			e.Message, e.RequestID = b.Message, b.RequestID
		} else {
			e.Message = strings.TrimSpace(string(raw))
		}
		return resp.Header, e
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.Header, fmt.Errorf("%s %s: the server's answer is not what pollhook expects: %w", method, path, err)
		}
	}
	return resp.Header, nil
}

func unwrapURL(err error) error {
	var u *url.Error
	if errors.As(err, &u) {
		return u.Err
	}
	return err
}

// List reads a paged list into items, following Elements-Next-Page-Token,
// until it has limit items (0: all of them). ListMore also says whether
// it stopped at limit with more to come.
func List[T any](ctx context.Context, c *Client, path string, q url.Values, limit int) ([]T, error) {
	all, _, err := ListMore[T](ctx, c, path, q, limit)
	return all, err
}

// ListMore is List, and reports more when it stopped at limit while the
// server still offered a next page: the caller must say the list is cut.
func ListMore[T any](ctx context.Context, c *Client, path string, q url.Values, limit int) (items []T, more bool, err error) {
	var all []T
	q = cloneValues(q)
	for {
		size := 200
		if limit > 0 && limit-len(all) < size {
			size = limit - len(all)
		}
		q.Set("pageSize", fmt.Sprint(size))
		var page []T
		h, err := c.Do(ctx, "GET", path+"?"+q.Encode(), nil, &page)
		if err != nil {
			return all, false, err
		}
		all = append(all, page...)
		next := h.Get("Elements-Next-Page-Token")
		if next == "" || len(page) == 0 {
			return all, false, nil
		}
		if limit > 0 && len(all) >= limit {
			// A full page carries a token even when it ends the list:
			// look one item further.
			q.Set("nextPage", next)
			q.Set("pageSize", "1")
			var probe []T
			if _, err := c.Do(ctx, "GET", path+"?"+q.Encode(), nil, &probe); err != nil {
				return all, false, err
			}
			return all, len(probe) > 0, nil
		}
		q.Set("nextPage", next)
	}
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
