package api

import (
	"net/http"
	"slices"
	"strings"
)

// authKind says which Authorization parts a route needs (spec §1).
type authKind int

const (
	authNone     authKind = iota
	authPlatform          // User, Organization
	authToken             // User, Organization, Element: acts on the token's instance
	authHub               // User, Element (Organization optional)
)

// route is one API operation: it is both what the router dispatches and
// what the OpenAPI document describes, so the two cannot drift apart.
type route struct {
	method   string
	path     string // relative to the base path; {name} segments are parameters
	id       string // OpenAPI operationId
	summary  string
	tag      string
	auth     authKind
	query    []param // documented query parameters
	request  string  // component schema of the body, "" for none
	response string  // component schema of a 2xx body, "" for none
	status   int     // success status; default 200
	handle   func(w http.ResponseWriter, r *http.Request, p params)
	segs     []string
}

type param struct {
	name, description, schema string
}

// params are a matched route's path parameters.
type params map[string]string

// router matches "METHOD /a/{b}/c" routes on path segments. Among routes
// matching a path, the one with more literal segments wins, so
// /instances/configuration/{id} and /instances/{id}/configuration coexist
// (Go's ServeMux refuses such a pair as ambiguous).
type router struct {
	base   string
	routes []*route
}

func (rt *router) add(r *route) {
	r.segs = strings.Split(strings.Trim(r.path, "/"), "/")
	rt.routes = append(rt.routes, r)
	// Most literal segments first; among equals, the one whose first
	// parameter comes later (a longer literal prefix) is more specific.
	slices.SortStableFunc(rt.routes, func(a, b *route) int {
		if d := literals(b.segs) - literals(a.segs); d != 0 {
			return d
		}
		return firstParam(b.segs) - firstParam(a.segs)
	})
}

func firstParam(segs []string) int {
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			return i
		}
	}
	return len(segs)
}

func literals(segs []string) int {
	n := 0
	for _, s := range segs {
		if !strings.HasPrefix(s, "{") {
			n++
		}
	}
	return n
}

// match finds the route for a request path (without the base): the route,
// its parameters, and whether the path exists under another method.
func (rt *router) match(method, path string) (*route, params, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	pathKnown := false
	for _, r := range rt.routes {
		p, ok := matchSegs(r.segs, segs)
		if !ok {
			continue
		}
		if r.method == method {
			return r, p, true
		}
		pathKnown = true
	}
	return nil, nil, pathKnown
}

func matchSegs(pattern, segs []string) (params, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	var p params
	for i, s := range pattern {
		if name, ok := strings.CutPrefix(s, "{"); ok {
			if segs[i] == "" {
				return nil, false
			}
			if p == nil {
				p = params{}
			}
			p[strings.TrimSuffix(name, "}")] = segs[i]
			continue
		}
		if s != segs[i] {
			return nil, false
		}
	}
	return p, true
}
