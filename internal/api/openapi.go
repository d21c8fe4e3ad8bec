package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// OpenAPI returns the API's OpenAPI 3.1 document, generated from the same
// route table the server dispatches on.
func (s *Server) OpenAPI() []byte {
	paths := map[string]map[string]any{}
	for _, rt := range s.router.routes {
		op := map[string]any{
			"operationId": rt.id,
			"summary":     rt.summary,
			"tags":        []string{rt.tag},
			"responses":   responses(rt),
		}
		var ps []any
		for _, seg := range rt.segs {
			if name, ok := strings.CutPrefix(seg, "{"); ok {
				name = strings.TrimSuffix(name, "}")
				ps = append(ps, map[string]any{"name": name, "in": "path", "required": true,
					"schema": map[string]any{"type": pathParamType(name)}})
			}
		}
		for _, q := range rt.query {
			ps = append(ps, map[string]any{"name": q.name, "in": "query", "description": q.description,
				"schema": map[string]any{"type": q.schema}})
		}
		if ps != nil {
			op["parameters"] = ps
		}
		if rt.request != "" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": ref(rt.request)}}}
		}
		switch rt.auth {
		case authPlatform:
			op["security"] = []any{map[string]any{"platform": []string{}}}
			op["description"] = "Authorization: User <user secret>, Organization <organization secret>"
		case authToken:
			op["security"] = []any{map[string]any{"platform": []string{}}}
			op["description"] = "Authorization: User <user secret>, Organization <organization secret>, Element <instance token>"
		case authHub:
			op["security"] = []any{map[string]any{"platform": []string{}}}
			op["description"] = "Authorization: User <user secret>, Element <instance token>"
		}
		if paths[BasePath+rt.path] == nil {
			paths[BasePath+rt.path] = map[string]any{}
		}
		paths[BasePath+rt.path][strings.ToLower(rt.method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "pollhook",
			"version":     s.version(),
			"description": "Cloud Elements-compatible element instances, CRM hub and polling events for Insightly.",
		},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"platform": map[string]any{"type": "apiKey", "in": "header", "name": "Authorization",
				"description": "Comma-separated parts: 'User <secret>', 'Organization <secret>', 'Element <instance token>'"}},
			"schemas": schemas,
		},
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return append(b, '\n')
}

func (s *Server) version() string {
	if s.cfg.Version == "" {
		return "dev"
	}
	return s.cfg.Version
}

func pathParamType(name string) string {
	switch name {
	case "id", "configId", "testId":
		return "integer"
	}
	return "string"
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func responses(rt *route) map[string]any {
	ok := map[string]any{"description": "success"}
	code := "200"
	if rt.status != 0 {
		code = strconv.Itoa(rt.status)
	}
	if rt.response != "" {
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(rt.response)}}
	}
	if rt.id == "hubList" || rt.id == "listEvents" || rt.id == "listInstanceEvents" || rt.id == "listDeliveries" || rt.id == "listNotifications" {
		ok["headers"] = map[string]any{
			"Elements-Next-Page-Token": map[string]any{"description": "pass as nextPage for the next page; absent after the last", "schema": map[string]any{"type": "string"}},
			"Elements-Returned-Count":  map[string]any{"description": "records in this page", "schema": map[string]any{"type": "integer"}},
		}
	}
	errResp := map[string]any{"description": "the request failed; message says why and names the field",
		"content": map[string]any{"application/json": map[string]any{"schema": ref("Error")}}}
	return map[string]any{code: ok, "default": errResp}
}

var (
	str     = map[string]any{"type": "string"}
	integer = map[string]any{"type": "integer"}
	boolean = map[string]any{"type": "boolean"}
	// eventCounts is a window's or run's events by type.
	eventCounts        = map[string]any{"type": "object", "description": "events by type: CREATED, UPDATED", "additionalProperties": integer}
	notificationStatus = map[string]any{"enum": []string{"created", "retry", "queued", "delivered"},
		"description": "created: waiting to be sent; retry: failed, will be tried again; queued: held while its callback is suspended; delivered: a 2xx came back"}
)

// quotaSchema is poller.QuotaStatus: the Insightly account's daily quota
// and what the polls of every instance using it spend of it.
var quotaSchema = map[string]any{"type": "object", "description": "the Insightly account's daily quota, as last stated; absent until the instance's account is known",
	"required": []string{"account", "limit", "remaining", "forecastPerDay", "reserve", "stretch"},
	"properties": map[string]any{
		"account":        str,
		"metricsLabel":   map[string]any{"type": "string", "description": "the account's label in /metrics, which names no account"},
		"limit":          map[string]any{"type": "integer", "description": "the daily limit Insightly last stated; 0: not known yet"},
		"remaining":      map[string]any{"type": "integer", "description": "calls left today, as last stated; 0 while the quota is spent"},
		"resetsAt":       map[string]any{"type": "string", "description": "while the quota is spent, when it comes back"},
		"resetAt":        map[string]any{"type": "string", "description": "resetsAt, under the key earlier clients read"},
		"forecastPerDay": map[string]any{"type": "number", "description": "the calls per day the account's polls imply, across every instance using the account"},
		"reserve":        map[string]any{"type": "number", "description": "the share of the quota left to the account's other apps (--quota-reserve), 0 to 0.9"},
		"stretch":        map[string]any{"type": "number", "description": "the factor now applied to the intervals of the account's polls and delete scans to keep the reserve; 1 when none"},
		"pausedUntil":    map[string]any{"type": "string", "description": "while the quota is spent or down to the reserve, when the account's polls call again"},
		"pace":           map[string]any{"type": "string", "description": "why polls are stretched or paused, in a sentence"},
		"exceedsLimit":   map[string]any{"type": "boolean", "description": "the configuration alone would spend more than the known limit; the instance still polls as configured"},
		"message":        map[string]any{"type": "string", "description": "exceedsLimit, said for people"}}}

// resourcePollSchema is poller.PollStatus: one resource's polling.
var resourcePollSchema = map[string]any{"type": "object",
	"required": []string{"resource", "intervalSeconds", "cursor", "cursorAnchored", "consecutiveFailures", "eventsTotal"},
	"properties": map[string]any{
		"resource": str, "intervalSeconds": integer,
		"cursor":         map[string]any{"type": "string", "description": "records updated after it are read next"},
		"cursorAnchored": map[string]any{"type": "boolean", "description": "the cursor is on the upstream's clock (false until the first window completes: our clock when polling began)"},
		"window": map[string]any{"type": "object", "description": "a window under way: committed page by page, resumed after a crash or timeout, complete when the cursor moves",
			"required": []string{"from", "startedAt", "pages", "records", "events"},
			"properties": map[string]any{
				"from":      map[string]any{"type": "string", "description": "records updated after it are read"},
				"startedAt": map[string]any{"type": "string", "description": "our clock"},
				"backfill":  boolean, "pages": integer, "records": integer, "events": eventCounts}},
		"lastRun": map[string]any{"type": "object", "description": "the last successful run",
			"required":   []string{"at", "durationMs", "pages", "records", "events"},
			"properties": map[string]any{"at": str, "durationMs": integer, "pages": integer, "records": integer, "events": eventCounts}},
		"lastAttemptAt": str, "nextRunAt": str, "lastError": str, "consecutiveFailures": integer, "failingSince": str,
		"pausedReason": map[string]any{"type": "string", "description": "why the poll waits (a 403 on its object, say) instead of running on its interval"},
		"runRequested": map[string]any{"type": "boolean", "description": "an operator asked for a run"},
		"backfillFrom": map[string]any{"type": "string", "description": "an operator asked for the changes since then"},
		"eventsTotal":  integer,
		"baselineAt":   map[string]any{"type": "string", "description": "with snapshots on, when the baseline scan completed"},
		"deletes": map[string]any{"type": "object", "description": "the resource's delete detection", "required": []string{"everyMinutes"},
			"properties": map[string]any{"everyMinutes": integer, "lastScanAt": map[string]any{"type": "string", "description": "the last complete delete scan"}, "lastScan": str, "nextScanAt": str}}}}

var schemas = map[string]any{
	"Error": map[string]any{"type": "object", "required": []string{"requestId", "message"},
		"properties": map[string]any{"requestId": str, "message": str,
			"errors": map[string]any{"type": "array", "minItems": 1,
				"description": "present when the request was refused for its fields: every problem found, in order; " +
					"message is the first one's \"field: message\". field is the dotted path of the value in the request body " +
					"(name, tags[2], element.key, configuration.<key>, configuration.event.poller.configuration.<resource>.<key>…); " +
					"configuration keys contain dots themselves, so match the path rather than split it",
				"items": map[string]any{"type": "object", "required": []string{"field", "message"},
					"properties": map[string]any{"field": str, "message": str}}}}},
	"InstanceInput": map[string]any{"type": "object", "properties": map[string]any{
		"element": map[string]any{"type": "object", "properties": map[string]any{"key": str, "id": map[string]any{"type": []string{"integer", "string"}}}},
		"name":    str,
		"tags":    map[string]any{"type": "array", "items": str},
		"configuration": map[string]any{"type": "object", "description": "key → value; event.poller.configuration may be an object or a JSON string",
			"additionalProperties": map[string]any{"type": []string{"string", "boolean", "number", "object", "null"}}},
	}},
	"Instance": map[string]any{"type": "object", "required": []string{"id", "name", "token", "valid", "tags", "user"},
		"properties": map[string]any{
			"id": map[string]any{"type": "integer"}, "name": str, "createdDate": str, "updatedDate": str, "token": str,
			"element": map[string]any{"type": "object"}, "elementId": map[string]any{"type": "integer"},
			"tags": map[string]any{"type": "array", "items": str}, "valid": map[string]any{"type": "boolean"},
			"disabled": map[string]any{"type": "boolean"}, "eventsEnabled": map[string]any{"type": "boolean"},
			"configuration": map[string]any{"type": "object", "description": "secrets are ********", "additionalProperties": str},
			"user": map[string]any{"type": "object", "required": []string{"id", "emailAddress", "firstName", "lastName"},
				"properties": map[string]any{"id": map[string]any{"type": "integer"}, "emailAddress": str, "firstName": str, "lastName": str}},
		}},
	"InstanceList": map[string]any{"type": "array", "items": ref("Instance")},
	"ConfigItem": map[string]any{"type": "object", "properties": map[string]any{
		"id": map[string]any{"type": "integer"}, "key": str, "name": str, "propertyValue": str}},
	"ConfigItemList": map[string]any{"type": "array", "items": ref("ConfigItem")},
	"Event": map[string]any{"type": "object", "required": []string{"id", "eventDate", "status", "providerData"},
		"properties": map[string]any{"id": str, "eventDate": str, "status": map[string]any{"enum": []string{"NEW", "RECEIVED", "DISPATCHED", "CONSUMED", "NOTIFIED"}},
			"providerData": map[string]any{"type": "string", "description": "the record as Insightly sent it, as JSON text"},
			"notifiedData": map[string]any{"type": "array"}, "eventType": map[string]any{"enum": []string{"CREATED", "UPDATED", "DELETED"}},
			"objectType": str, "objectId": str, "instanceId": map[string]any{"type": "integer"}, "pollDate": str, "createdDate": str,
			"backfill":       map[string]any{"type": "boolean", "description": "reported by an operator's backfill"},
			"notificationId": map[string]any{"type": "string", "description": "the notification carrying the event: its attempts, or a replay"},
			"changedFields": map[string]any{"type": "object", "description": "pollhook extension, with snapshots on: an UPDATED's field diff, " +
				"{\"<field>\": {\"before\": <old>, \"after\": <new>}}; absent when the previous version was not observed. " +
				"Each event of the notification envelope carries it too.",
				"additionalProperties": map[string]any{"type": "object", "properties": map[string]any{"before": map[string]any{}, "after": map[string]any{}}}}}},
	"EventList": map[string]any{"type": "array", "items": ref("Event")},
	"ReplayResult": map[string]any{"type": "object", "required": []string{"notifications", "notificationIds"},
		"properties": map[string]any{
			"notifications":            map[string]any{"type": "integer", "description": "how many notifications were replayed: all of them, however many"},
			"notificationIds":          map[string]any{"type": "array", "items": str, "description": "their ids, in order: the first 1,000"},
			"notificationIdsTruncated": map[string]any{"type": "boolean", "description": "true when notificationIds lists only the first 1,000"},
			"skippedEvents":            map[string]any{"type": "integer", "description": "matching events without a notification (no callback, or history pruned)"}}},
	"TestDelivery": map[string]any{"type": "object",
		"required": []string{"id", "instanceId", "url", "notificationId", "objectType", "at", "ok", "status", "latencyMs", "signature", "notification"},
		"properties": map[string]any{
			"id": map[string]any{"type": "integer"}, "instanceId": map[string]any{"type": "integer"}, "url": str,
			"notificationId": map[string]any{"type": "string", "description": "the test's Elements-Webhook-Id and webhook-id"},
			"objectType":     str, "at": str,
			"ok":           map[string]any{"type": "boolean", "description": "the receiver answered 2xx"},
			"status":       map[string]any{"type": "integer", "description": "the receiver's HTTP status; 0 when no response came"},
			"latencyMs":    map[string]any{"type": "integer"},
			"error":        map[string]any{"type": "string", "description": "why no response came"},
			"response":     map[string]any{"type": "string", "description": "the first 2 KB of the receiver's answer"},
			"signature":    map[string]any{"type": "string", "description": "the Elements-Webhook-Signature sent"},
			"notification": map[string]any{"type": "object", "description": "the exact body sent, action \"test\""}}},
	"PollStatus": map[string]any{"type": "object", "description": "an instance's polling (poller.InstanceStatus)",
		"required": []string{"instanceId", "valid", "eventsEnabled", "disabled", "polls"},
		"properties": map[string]any{
			"instanceId": integer, "valid": boolean,
			"invalidReason": map[string]any{"type": "string", "description": "why the instance is not valid"},
			"eventsEnabled": boolean, "disabled": boolean,
			"quota": quotaSchema,
			"polls": map[string]any{"type": "array", "items": resourcePollSchema, "description": "one per polled resource"}}},
	"RunRequest": map[string]any{"type": "object", "properties": map[string]any{
		"backfillFrom": map[string]any{"type": "string", "format": "date-time",
			"description": "RFC 3339; report everything changed since then (one resource only); accepted during a quota pause, it waits for the reset"}}},
	"RunRequested": map[string]any{"type": "object", "required": []string{"requested"}, "properties": map[string]any{
		"requested": map[string]any{"type": "integer", "description": "how many resources will poll"}}},
	"SignatureKey": map[string]any{"type": "object", "required": []string{"signatureKey", "standardWebhooksSecret"}, "properties": map[string]any{
		"signatureKey":           map[string]any{"type": "string", "description": "the HMAC-SHA256 key of Elements-Webhook-Signature"},
		"standardWebhooksSecret": map[string]any{"type": "string", "description": "the same key as a Standard Webhooks secret (whsec_…), for webhook-signature"}}},
	"Notification": map[string]any{"type": "object",
		"required": []string{"id", "instanceId", "callbackId", "objectType", "status", "attempts", "createdDate", "updatedDate"},
		"properties": map[string]any{
			"id":          map[string]any{"type": "string", "description": "the Elements-Webhook-Id and webhook-id"},
			"instanceId":  integer,
			"callbackId":  map[string]any{"type": "integer", "description": "the callback it goes to (a delivery's subscriptionId)"},
			"objectType":  str,
			"status":      notificationStatus,
			"attempts":    map[string]any{"type": "integer", "description": "attempts so far"},
			"createdDate": str, "updatedDate": str,
			"deliveredDate": map[string]any{"type": "string", "description": "when a 2xx came back"},
			"notification":  map[string]any{"type": "object", "description": "the exact body sent; only when reading one notification"}}},
	"NotificationList": map[string]any{"type": "array", "items": ref("Notification")},
	"AttemptList": map[string]any{"type": "array", "items": map[string]any{"type": "object", "required": []string{"at", "latencyMs"},
		"properties": map[string]any{
			"at":         str,
			"statusCode": map[string]any{"type": "integer", "description": "the receiver's HTTP status; absent when no response came"},
			"latencyMs":  integer,
			"error":      map[string]any{"type": "string", "description": "why no response came"},
			"response":   map[string]any{"type": "string", "description": "the first 2 KB of the receiver's answer"}}}},
	"Callback": map[string]any{"type": "object", "required": []string{"id", "url", "state", "failures"},
		"properties": map[string]any{
			"id": integer, "url": str,
			"state":          map[string]any{"enum": []string{"active", "retrying", "suspended"}, "description": "failures are tracked per callback; a suspended one queues its notifications"},
			"failures":       map[string]any{"type": "integer", "description": "consecutive failed attempts"},
			"firstFailureAt": str, "nextAttemptAt": str, "suspendedAt": str, "lastError": str}},
	"CallbackList": map[string]any{"type": "array", "items": ref("Callback")},
	"DeliveryList": map[string]any{"type": "array", "items": map[string]any{"type": "object", "description": "Cloud Elements' delivery: one notification",
		"required": []string{"notificationId", "subscriptionId", "status", "createdDate", "updatedDate"},
		"properties": map[string]any{
			"notificationId": str,
			"subscriptionId": map[string]any{"type": "integer", "description": "the callback's id"},
			"status":         notificationStatus, "createdDate": str, "updatedDate": str}}},
	"Record":     map[string]any{"type": "object", "description": "an Insightly record with its native field names", "additionalProperties": true},
	"RecordList": map[string]any{"type": "array", "items": ref("Record")},
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request, _ params) {
	writeRaw(w, http.StatusOK, s.OpenAPI())
}

// RouteInfo names one served operation.
type RouteInfo struct{ Method, Path string }

// Routes lists the served operations, paths relative to BasePath.
func (s *Server) Routes() []RouteInfo {
	out := make([]RouteInfo, 0, len(s.router.routes))
	for _, rt := range s.router.routes {
		out = append(out, RouteInfo{Method: rt.method, Path: rt.path})
	}
	return out
}
