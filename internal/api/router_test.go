package api

import (
	"net/http"
	"testing"
)

func TestRouterPrefersLiteralSegments(t *testing.T) {
	t.Parallel()
	rt := &router{}
	names := map[*route]string{}
	add := func(method, path string) {
		r := &route{method: method, path: path, handle: func(http.ResponseWriter, *http.Request, params) {}}
		names[r] = method + " " + path
		rt.add(r)
	}
	add("GET", "/instances/{id}")
	add("GET", "/instances/{id}/configuration")
	add("GET", "/instances/configuration/{configId}")
	add("GET", "/instances/configuration")
	add("PUT", "/instances/enabled")
	add("PUT", "/instances/{id}")
	add("GET", "/instances/events/{eventId}")
	add("POST", "/instances/events/replay")
	add("GET", "/instances/{id}/events/{eventId}")
	add("POST", "/instances/{id}/events/replay")
	cases := []struct {
		method, path, want string
		param, value       string
		known              bool
	}{
		{"GET", "/instances/42", "GET /instances/{id}", "id", "42", true},
		{"GET", "/instances/configuration", "GET /instances/configuration", "", "", true},
		{"GET", "/instances/configuration/7", "GET /instances/configuration/{configId}", "configId", "7", true},
		{"GET", "/instances/42/configuration", "GET /instances/{id}/configuration", "id", "42", true},
		{"GET", "/instances/configuration/configuration", "GET /instances/configuration/{configId}", "configId", "configuration", true},
		{"PUT", "/instances/enabled", "PUT /instances/enabled", "", "", true},
		{"PUT", "/instances/3", "PUT /instances/{id}", "id", "3", true},
		{"DELETE", "/instances/3", "", "", "", true},
		{"POST", "/instances/events/replay", "POST /instances/events/replay", "", "", true},
		{"GET", "/instances/events/replay", "GET /instances/events/{eventId}", "eventId", "replay", true},
		{"POST", "/instances/7/events/replay", "POST /instances/{id}/events/replay", "id", "7", true},
		{"GET", "/instances/7/events/abc", "GET /instances/{id}/events/{eventId}", "eventId", "abc", true},
		{"POST", "/instances/events/abc", "", "", "", true},
		{"GET", "/nothing", "", "", "", false},
		{"GET", "/instances//configuration", "", "", "", false},
	}
	for _, tc := range cases {
		r, p, known := rt.match(tc.method, tc.path)
		got := ""
		if r != nil {
			got = names[r]
		}
		if got != tc.want || known != tc.known || (tc.param != "" && p[tc.param] != tc.value) {
			t.Errorf("%s %s: %q %v %v, want %q", tc.method, tc.path, got, p, known, tc.want)
		}
	}
}
