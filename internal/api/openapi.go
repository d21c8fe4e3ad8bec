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

var str = map[string]any{"type": "string"}

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
	"TestDelivery": map[string]any{"type": "object", "required": []string{"id", "notificationId", "status", "latencyMs", "at"},
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
