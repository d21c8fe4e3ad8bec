package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// A list cut at its limit says so; a list read to its end does not.
func TestListMore(t *testing.T) {
	t.Parallel()
	const total = 5
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		after, _ := strconv.Atoi(r.URL.Query().Get("nextPage"))
		size, _ := strconv.Atoi(r.URL.Query().Get("pageSize"))
		page := []int{}
		for i := after + 1; i <= total && len(page) < size; i++ {
			page = append(page, i)
		}
		if len(page) == size && len(page) > 0 {
			w.Header().Set("Elements-Next-Page-Token", strconv.Itoa(page[len(page)-1]))
		}
		json.NewEncoder(w).Encode(page)
	}))
	t.Cleanup(srv.Close)
	c := &Client{Server: srv.URL}
	for _, tc := range []struct {
		limit, n int
		more     bool
	}{{0, total, false}, {3, 3, true}, {total, total, false}, {total + 1, total, false}} {
		items, more, err := ListMore[int](context.Background(), c, "/x", nil, tc.limit)
		if err != nil || len(items) != tc.n || more != tc.more {
			t.Errorf("limit %d: %v, more %v, %v; want %d items, more %v", tc.limit, items, more, err, tc.n, tc.more)
		}
	}
}
