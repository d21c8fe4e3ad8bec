package api

import (
	"strconv"

	"encoding/json"
	"github.com/pollhook/pollhook/internal/poller"
	"slices"
	"strings"
	"testing"
)

// openAPIDoc is the served document, decoded as a client sees it.
func openAPIDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(New(Config{}).OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestOpenAPIRefsResolve keeps the schema table honest both ways: a $ref
// to an undefined schema is "Could not resolve reference" in Swagger UI,
// and a schema nothing refers to describes no answer.
func TestOpenAPIRefsResolve(t *testing.T) {
	t.Parallel()
	doc := openAPIDoc(t)
	defined := doc["components"].(map[string]any)["schemas"].(map[string]any)
	used := map[string]bool{}
	var dangling []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if k != "$ref" {
					walk(e)
					continue
				}
				name, ok := strings.CutPrefix(e.(string), "#/components/schemas/")
				if _, def := defined[name]; !ok || !def {
					dangling = append(dangling, e.(string))
				}
				used[name] = true
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
	var unused []string
	for name := range defined {
		if !used[name] {
			unused = append(unused, name)
		}
	}
	slices.Sort(dangling)
	slices.Sort(unused)
	if dangling = slices.Compact(dangling); dangling != nil {
		t.Errorf("$refs that resolve to no defined schema: %v", dangling)
	}
	if unused != nil {
		t.Errorf("schemas defined but never referenced: %v", unused)
	}
}

// TestOpenAPISchemasMatchAnswers holds the schemas to the Go values the
// handlers write: every key of a populated value must be a property, with
// the type the schema says, and every required key present; a zero value
// (optional fields absent) must write only required keys. A key added to
// a type without its schema fails here rather than in a client.
func TestOpenAPISchemasMatchAnswers(t *testing.T) {
	t.Parallel()
	doc := openAPIDoc(t)
	const at = "2026-03-01T12:00:00Z"
	events := map[string]int{"CREATED": 2, "UPDATED": 1}
	full := map[string]any{
		"PollStatus": poller.InstanceStatus{InstanceID: 7, Valid: true, InvalidReason: "401 from Insightly", EventsEnabled: true, Disabled: true,
			Quota: &poller.QuotaStatus{Account: "acme", MetricsLabel: "a1", Limit: 1000, Remaining: 10, ResetsAt: at, ResetAt: at,
				ForecastPerDay: 1500.5, Reserve: 0.2, Stretch: 1.5, PausedUntil: at, Pace: "paused", ExceedsLimit: true, Message: "too many"},
			Polls: []poller.PollStatus{{Resource: "contacts", IntervalSeconds: 300, Cursor: at, CursorAnchored: true,
				Window:        &poller.WindowStatus{From: at, StartedAt: at, Backfill: true, Pages: 2, Records: 3, Events: events},
				LastRun:       &poller.RunStatus{At: at, DurationMs: 120, Pages: 1, Records: 3, Events: events},
				LastAttemptAt: at, NextRunAt: at, LastError: "500", ConsecutiveFailures: 2, FailingSince: at, PausedReason: "403",
				RunRequested: true, BackfillFrom: at, EventsTotal: 9, BaselineAt: at,
				Deletes: &poller.DeleteStatus{EveryMinutes: 60, LastScanAt: at, LastScan: "3 deleted", NextScanAt: at}}}},
		"RunRequest":   runRequest{BackfillFrom: at},
		"RunRequested": runRequested{Requested: 3},
		"SignatureKey": signatureKeyView{SignatureKey: "k", StandardWebhooksSecret: "whsec_aw=="},
		"TestDelivery": testDeliveryView{ID: 1, InstanceID: 7, URL: "https://x/y", NotificationID: "n1", ObjectType: "contacts", At: at, OK: true,
			Status: 200, LatencyMs: 12, Error: "timeout", Response: "ok", Signature: "sha256=x", Notification: json.RawMessage(`{"action":"test"}`)},
		"Notification": notificationView{ID: "n1", InstanceID: 7, CallbackID: 3, Resource: "contacts", Status: "delivered", Attempts: 2,
			CreatedDate: at, UpdatedDate: at, DeliveredDate: at, Notification: json.RawMessage(`{"events":[]}`)},
		"AttemptList":  []attemptView{{At: at, StatusCode: 500, LatencyMs: 12, Error: "timeout", Response: "no"}},
		"Callback":     callbackView{ID: 3, URL: "https://x/y", State: "suspended", Failures: 4, FirstFailureAt: at, NextAttemptAt: at, SuspendedAt: at, LastError: "500"},
		"DeliveryList": []ceDelivery{{NotificationID: "n1", SubscriptionID: 3, Status: "queued", CreatedDate: at, UpdatedDate: at}},
	}
	full["NotificationList"] = []notificationView{full["Notification"].(notificationView)}
	full["CallbackList"] = []callbackView{full["Callback"].(callbackView)}
	for name, v := range full {
		checkSchema(t, doc, name, v, false)
	}
	// Zero values, with the nested objects set so that their keys are seen.
	zero := map[string]any{
		"PollStatus": poller.InstanceStatus{Quota: &poller.QuotaStatus{}, Polls: []poller.PollStatus{{
			Window: &poller.WindowStatus{}, LastRun: &poller.RunStatus{}, Deletes: &poller.DeleteStatus{}}}},
		"RunRequested": runRequested{}, "SignatureKey": signatureKeyView{}, "TestDelivery": testDeliveryView{Notification: json.RawMessage(`{}`)},
		"Notification": notificationView{}, "AttemptList": []attemptView{{}}, "Callback": callbackView{}, "DeliveryList": []ceDelivery{{}},
	}
	for name, v := range zero {
		checkSchema(t, doc, name, v, true)
	}
}

// checkSchema marshals v and walks it alongside the schema name. With
// zero, v's optional fields are empty: a key the schema does not require
// is then an error, unless it holds an object (set to reach its keys), and
// types are not checked (an empty string is no enum value).
func checkSchema(t *testing.T, doc map[string]any, name string, v any, zero bool) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var val any
	if err := json.Unmarshal(b, &val); err != nil {
		t.Fatal(err)
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	var walk func(path string, val any, s map[string]any)
	walk = func(path string, val any, s map[string]any) {
		if r, ok := s["$ref"].(string); ok {
			s, _ = schemas[strings.TrimPrefix(r, "#/components/schemas/")].(map[string]any)
		}
		if s == nil {
			t.Errorf("%s: no schema", path)
			return
		}
		if val == nil {
			return // a RawMessage or slice left nil in a zero value
		}
		if !zero && !typeOK(val, s) {
			t.Errorf("%s: %v is not what the schema says (%v %v)", path, val, s["type"], s["enum"])
		}
		switch val := val.(type) {
		case map[string]any:
			props, _ := s["properties"].(map[string]any)
			required := map[string]bool{}
			for _, k := range toStrings(s["required"]) {
				required[k] = true
				if _, ok := val[k]; !ok {
					t.Errorf("%s: required key %q absent", path, k)
				}
			}
			for k, e := range val {
				if _, isObj := e.(map[string]any); zero && !required[k] && !isObj {
					t.Errorf("%s.%s: written even when empty, but not required", path, k)
				}
				if props != nil {
					ps, ok := props[k].(map[string]any)
					if !ok {
						t.Errorf("%s.%s: written but not a property of the schema", path, k)
						continue
					}
					walk(path+"."+k, e, ps)
				} else if ap, ok := s["additionalProperties"].(map[string]any); ok {
					walk(path+"."+k, e, ap)
				}
			}
		case []any:
			items, _ := s["items"].(map[string]any)
			for i, e := range val {
				walk(path+"["+strconv.Itoa(i)+"]", e, items)
			}
		}
	}
	walk(name, val, map[string]any{"$ref": "#/components/schemas/" + name})
}

// typeOK says whether a decoded JSON value fits the schema's type or enum.
func typeOK(val any, s map[string]any) bool {
	if enum := s["enum"]; enum != nil {
		return slices.Contains(enum.([]any), val)
	}
	types := toStrings(s["type"])
	if len(types) == 0 {
		return true
	}
	kind := "null"
	switch val := val.(type) {
	case string:
		kind = "string"
	case bool:
		kind = "boolean"
	case float64:
		kind = "number"
		if val == float64(int64(val)) && slices.Contains(types, "integer") {
			kind = "integer"
		}
	case map[string]any:
		kind = "object"
	case []any:
		kind = "array"
	}
	return slices.Contains(types, kind)
}

// toStrings reads a schema's "type" or "required": a string or a list.
func toStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, e.(string))
		}
		return out
	}
	return nil
}
