package insightly

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// route dispatches an authenticated, admitted request. rest is the path
// after /v3.1/. Collection names match case-insensitively, as ASP.NET
// routing does. Callers hold s.mu.
func (s *Sim) route(a *account, u *user, r *http.Request, rest string, body []byte) response {
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	head := strings.ToLower(segs[0])
	switch {
	case head == "":
		return noResource(r)
	case head == "instance":
		if len(segs) != 1 {
			return noResource(r)
		}
		if r.Method != http.MethodGet {
			return methodNotAllowed(r)
		}
		return jsonResponse(200, map[string]any{"INSTANCE_NAME": a.name, "INSTANCE_SUBDOMAIN": a.subdomain,
			"PLAN_NAME": a.plan, "NEW_USER_EXPERIENCE_ENABLED": true})
	case head == "users" && len(segs) == 2 && strings.EqualFold(segs[1], "Me"):
		if r.Method != http.MethodGet {
			return methodNotAllowed(r)
		}
		o := a.lookup("Users")
		return recordResponse(200, o, a.coll("Users").latest(u.id))
	case head == "customfields":
		return s.customFieldsRoute(a, r, segs)
	case head == "customobjects":
		return s.customObjectsRoute(a, r, segs)
	case misnamedPlurals[head]:
		return methodNotAllowed(r)
	}
	o, ok := canonicalObject(a, segs[0])
	if !ok {
		return noResource(r)
	}
	if s.faults.forbidden[strings.ToLower(o.Name)] {
		return errorResponse(&apiError{Status: http.StatusForbidden, Message: gateMessage(http.StatusForbidden, o)})
	}
	if status := a.gate(o); status != 0 {
		return errorResponse(&apiError{Status: status, Message: gateMessage(status, o)})
	}
	switch len(segs) {
	case 1:
		switch r.Method {
		case http.MethodGet:
			return s.need(o, verbList, r, func() response { return s.list(a, o, r, listPlain) })
		case http.MethodPost:
			return s.need(o, verbCreate, r, func() response { return s.create(a, o, u, body) })
		case http.MethodPut:
			return s.need(o, verbUpdate, r, func() response { return s.update(a, o, u, r, 0, body) })
		}
		return methodNotAllowed(r)
	case 2:
		switch {
		case strings.EqualFold(segs[1], "Search"):
			if r.Method != http.MethodGet {
				return methodNotAllowed(r)
			}
			return s.need(o, verbSearch, r, func() response { return s.list(a, o, r, listSearch) })
		case strings.EqualFold(segs[1], "SearchByTag"):
			if r.Method != http.MethodGet {
				return methodNotAllowed(r)
			}
			return s.need(o, verbSearchByTag, r, func() response { return s.list(a, o, r, listByTag) })
		}
		id, err := strconv.ParseInt(segs[1], 10, 64)
		if err != nil {
			return noResource(r)
		}
		switch r.Method {
		case http.MethodGet:
			return s.need(o, verbGet, r, func() response { return s.get(a, o, id) })
		case http.MethodPut: // amp-labs' form; the documented one has the ID in the body only
			return s.need(o, verbUpdate, r, func() response { return s.update(a, o, u, r, id, body) })
		case http.MethodDelete:
			return s.need(o, verbDelete, r, func() response { return s.remove(a, o, id) })
		}
		return methodNotAllowed(r)
	case 3:
		id, err := strconv.ParseInt(segs[1], 10, 64)
		if err != nil || !strings.EqualFold(segs[2], "Notes") || !o.has(verbChildNotes) {
			return noResource(r)
		}
		switch r.Method {
		case http.MethodGet:
			return s.childNotes(a, o, id, r)
		case http.MethodPost:
			return s.addNote(a, o, u, id, body)
		}
		return methodNotAllowed(r)
	}
	return noResource(r)
}

// need answers 405 when o does not support v, as Insightly does for a known
// collection with a verb it lacks (POST /Notes, PUT /Users).
func (s *Sim) need(o *object, v verb, r *http.Request, fn func() response) response {
	if !o.has(v) {
		return methodNotAllowed(r)
	}
	return fn()
}

func recordResponse(status int, o *object, rec record) response {
	return response{status: status, body: o.appendRecord(nil, rec, false)}
}

func (s *Sim) get(a *account, o *object, id int64) response {
	rec := a.coll(o.Name).visible(id, s.now())
	if rec == nil {
		return errorResponse(notFound(o))
	}
	return recordResponse(200, o, rec)
}

// decodeObject reads a JSON object body with numbers kept exact.
func decodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, badRequest("The request is invalid: the body must be a JSON object.")
	}
	if dec.More() {
		return nil, badRequest("The request is invalid: unexpected data after the JSON object.")
	}
	return normalize(m).(map[string]any), nil
}

func (s *Sim) create(a *account, o *object, u *user, body []byte) response {
	m, err := decodeObject(body)
	if err != nil {
		return errResponse(err)
	}
	rec, err := s.createLocked(a, o, m, u.id)
	if err != nil {
		return errResponse(err)
	}
	return recordResponse(http.StatusCreated, o, rec)
}

// update handles PUT /{Obj} (ID in the body) and PUT /{Obj}/{id}.
func (s *Sim) update(a *account, o *object, u *user, r *http.Request, pathID int64, body []byte) response {
	m, err := decodeObject(body)
	if err != nil {
		return errResponse(err)
	}
	id, ok := asInt(m[o.PK])
	switch {
	case pathID != 0 && ok && id != pathID:
		return errorResponse(badRequest("%s in the body (%d) does not match the URL (%d).", o.PK, id, pathID))
	case pathID != 0:
		id = pathID
	case !ok:
		return errorResponse(badRequest("%s is required.", o.PK))
	}
	if match := r.Header.Get("If-Match"); match != "" && match != "*" {
		cur := a.coll(o.Name).latest(id)
		if cur != nil && match != etag(o.appendRecord(nil, cur, false)) {
			return errorResponse(badRequest("If-Match header value '%s' is not valid.", match))
		}
	}
	rec, err := s.updateLocked(a, o, id, m, u.id)
	if err != nil {
		return errResponse(err)
	}
	return recordResponse(http.StatusOK, o, rec)
}

func (s *Sim) remove(a *account, o *object, id int64) response {
	if err := s.deleteLocked(a, o, id); err != nil {
		return errResponse(err)
	}
	return response{status: http.StatusAccepted}
}

// addNote creates a Note linked to a parent record: Insightly has no
// top-level POST /Notes.
func (s *Sim) addNote(a *account, parent *object, u *user, id int64, body []byte) response {
	if a.coll(parent.Name).visible(id, s.now()) == nil {
		return errorResponse(notFound(parent))
	}
	m, err := decodeObject(body)
	if err != nil {
		return errResponse(err)
	}
	m["LINKS"] = []any{map[string]any{"LINK_OBJECT_NAME": parent.Singular, "LINK_OBJECT_ID": id}}
	notes := a.lookup("Notes")
	rec, err := s.createLocked(a, notes, m, u.id)
	if err != nil {
		return errResponse(err)
	}
	return recordResponse(http.StatusCreated, notes, rec)
}

func (s *Sim) customFieldsRoute(a *account, r *http.Request, segs []string) response {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r)
	}
	if len(segs) > 2 {
		return noResource(r)
	}
	var names []string
	if len(segs) == 2 {
		if segs[1] == "" {
			return errorResponse(badRequest("objectName is required."))
		}
		// Singular and plural names work alike; an unknown name gets every field.
		for name := range a.customFields {
			o := a.lookup(name)
			if strings.EqualFold(name, segs[1]) || (o != nil && strings.EqualFold(o.Singular, segs[1])) {
				names = []string{name}
			}
		}
	}
	if names == nil {
		for name := range a.customFields {
			names = append(names, name)
		}
		slices.Sort(names)
	}
	out := []any{}
	for _, name := range names {
		forName := strings.ToUpper(name)
		if o := a.lookup(name); o != nil && !o.Custom {
			forName = strings.ToUpper(o.Singular)
		}
		for i, d := range a.customFields[name] {
			opts := []any{}
			for j, opt := range d.Options {
				opts = append(opts, map[string]any{"OPTION_ID": j + 1, "OPTION_VALUE": opt, "OPTION_DEFAULT": false})
			}
			out = append(out, map[string]any{"FIELD_NAME": d.Name, "FIELD_ORDER": i + 1, "FIELD_FOR": forName,
				"FIELD_LABEL": d.Label, "FIELD_TYPE": d.Type, "FIELD_HELP_TEXT": nil, "DEFAULT_VALUE": nil,
				"EDITABLE": true, "VISIBLE": true, "CUSTOM_FIELD_OPTIONS": opts, "DEPENDENCY": nil, "JOIN_OBJECT": nil})
		}
	}
	return jsonResponse(200, out)
}

func (s *Sim) customObjectsRoute(a *account, r *http.Request, segs []string) response {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r)
	}
	var out []any
	for _, name := range slices.Sorted(maps.Keys(a.objects)) {
		o := a.objects[name]
		if !o.Custom || (len(segs) == 2 && !strings.EqualFold(o.Name, segs[1])) {
			continue
		}
		out = append(out, map[string]any{"OBJECT_NAME": o.Name, "SINGULAR_LABEL": o.Singular,
			"PLURAL_LABEL": o.Singular + "s", "DESCRIPTION": nil, "RECORD_NAME_LABEL": o.Singular + " Name",
			"RECORD_NAME_TYPE": "TEXT", "RECORD_NAME_DISPLAY_FORMAT": nil, "ENABLE_NAVBAR": true,
			"ENABLE_WORKFLOWS": true})
	}
	switch {
	case len(segs) > 2:
		return noResource(r)
	case len(segs) == 2 && len(out) == 0:
		return errorResponse(&apiError{Status: 404, Message: "Custom object not found."})
	case len(segs) == 2:
		return jsonResponse(200, out[0])
	}
	return jsonResponse(200, out)
}
