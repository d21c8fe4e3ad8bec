package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/store"
)

func (s *Server) routes() []*route {
	list := []param{
		{"tags[]", "only instances carrying this tag (repeat for several)", "string"},
		{"searchText", "only instances whose name or element key contains this text", "string"},
	}
	hubList := []param{
		{"where", "CEQL filter, e.g. updated_after_utc='2018-02-21 07:31:45'", "string"},
		{"page", "1-based page number", "integer"},
		{"pageSize", "records per page, 1-500 (default 200)", "integer"},
		{"nextPage", "the Elements-Next-Page-Token of the previous page", "string"},
	}
	eventQuery := append([]param{
		{"pageSize", "events per page, 1-1000 (default 200)", "integer"},
		{"nextPage", "the Elements-Next-Page-Token of the previous page (pass the same filters)", "string"},
	}, eventFilterParams...)
	return []*route{
		{method: "POST", path: "/instances", id: "createInstance", tag: "instances", auth: authPlatform,
			summary: "Create an element instance", request: "InstanceInput", response: "Instance", handle: s.createInstance},
		{method: "POST", path: "/elements/{elementKey}/instances", id: "createElementInstance", tag: "instances", auth: authPlatform,
			summary: "Create an instance of the element in the path", request: "InstanceInput", response: "Instance", handle: s.createInstance},
		{method: "GET", path: "/instances", id: "listInstances", tag: "instances", auth: authPlatform, query: list,
			summary: "List the organization's instances", response: "InstanceList", handle: s.listInstances},
		{method: "GET", path: "/instances/{id}", id: "getInstance", tag: "instances", auth: authPlatform,
			summary: "Read an instance", response: "Instance", handle: s.getInstance},
		{method: "PUT", path: "/instances/{id}", id: "replaceInstance", tag: "instances", auth: authPlatform,
			summary: "Replace an instance's name, tags and configuration", request: "InstanceInput", response: "Instance", handle: s.updateInstance(false)},
		{method: "PATCH", path: "/instances/{id}", id: "patchInstance", tag: "instances", auth: authPlatform,
			summary: "Change parts of an instance; configuration keys merge, null removes one", request: "InstanceInput", response: "Instance", handle: s.updateInstance(true)},
		{method: "DELETE", path: "/instances/{id}", id: "deleteInstance", tag: "instances", auth: authPlatform,
			summary: "Delete an instance; its token stops working", handle: s.deleteInstance},
		{method: "PUT", path: "/instances", id: "replaceTokenInstance", tag: "instances", auth: authToken,
			summary: "Replace the Element token's instance", request: "InstanceInput", response: "Instance", handle: s.updateInstance(false)},
		{method: "PATCH", path: "/instances", id: "patchTokenInstance", tag: "instances", auth: authToken,
			summary: "Change parts of the Element token's instance", request: "InstanceInput", response: "Instance", handle: s.updateInstance(true)},
		{method: "GET", path: "/instances/{id}/configuration", id: "listConfiguration", tag: "configuration", auth: authPlatform,
			summary: "List an instance's configuration items, secrets masked", response: "ConfigItemList", handle: s.listConfig},
		{method: "GET", path: "/instances/{id}/configuration/{configId}", id: "getConfiguration", tag: "configuration", auth: authPlatform,
			summary: "Read one configuration item", response: "ConfigItem", handle: s.getConfig},
		{method: "PATCH", path: "/instances/{id}/configuration/{configId}", id: "patchConfiguration", tag: "configuration", auth: authPlatform,
			summary: "Set one configuration item's propertyValue", request: "ConfigItem", response: "ConfigItem", handle: s.patchConfig},
		{method: "GET", path: "/instances/configuration", id: "listTokenConfiguration", tag: "configuration", auth: authToken,
			summary: "List the Element token's instance configuration", response: "ConfigItemList", handle: s.listConfig},
		{method: "GET", path: "/instances/configuration/{configId}", id: "getTokenConfiguration", tag: "configuration", auth: authToken,
			summary: "Read one configuration item of the token's instance", response: "ConfigItem", handle: s.getConfig},
		{method: "PATCH", path: "/instances/configuration/{configId}", id: "patchTokenConfiguration", tag: "configuration", auth: authToken,
			summary: "Set one configuration item of the token's instance", request: "ConfigItem", response: "ConfigItem", handle: s.patchConfig},
		{method: "PUT", path: "/instances/{id}/enabled", id: "enableInstance", tag: "instances", auth: authPlatform,
			summary: "Enable an instance", response: "Instance", handle: s.setEnabled(true)},
		{method: "DELETE", path: "/instances/{id}/enabled", id: "disableInstance", tag: "instances", auth: authPlatform,
			summary: "Disable an instance: no polling, hub calls answer 403", response: "Instance", handle: s.setEnabled(false)},
		{method: "PUT", path: "/instances/enabled", id: "enableTokenInstance", tag: "instances", auth: authToken,
			summary: "Enable the Element token's instance", response: "Instance", handle: s.setEnabled(true)},
		{method: "DELETE", path: "/instances/enabled", id: "disableTokenInstance", tag: "instances", auth: authToken,
			summary: "Disable the Element token's instance", response: "Instance", handle: s.setEnabled(false)},

		{method: "GET", path: "/instances/events", id: "listEvents", tag: "events", auth: authPlatform, query: eventQuery,
			summary: "List the organization's events, oldest first", response: "EventList", handle: s.listEvents},
		{method: "GET", path: "/instances/{id}/events", id: "listInstanceEvents", tag: "events", auth: authPlatform, query: eventQuery,
			summary: "List an instance's events, oldest first", response: "EventList", handle: s.listEvents},
		{method: "POST", path: "/instances/events/replay", id: "replayEvents", tag: "events", auth: authPlatform, query: eventFilterParams,
			summary:  "Replay every notification carrying a matching event, each once (same ids, new attempts); answers how many and their ids (the first 1,000) (pollhook extension)",
			response: "ReplayResult", status: 202, handle: s.replayEvents},
		{method: "POST", path: "/instances/{id}/events/replay", id: "replayInstanceEvents", tag: "events", auth: authPlatform, query: eventFilterParams,
			summary:  "Replay every notification carrying a matching event of the instance, each once (pollhook extension)",
			response: "ReplayResult", status: 202, handle: s.replayEvents},
		{method: "GET", path: "/instances/events/{eventId}", id: "getEvent", tag: "events", auth: authPlatform,
			summary: "Read one event", response: "Event", handle: s.getEvent},
		{method: "GET", path: "/instances/{id}/events/{eventId}", id: "getInstanceEvent", tag: "events", auth: authPlatform,
			summary: "Read one event of an instance", response: "Event", handle: s.getEvent},

		{method: "GET", path: "/instances/{id}/polls", id: "pollStatus", tag: "polling", auth: authPlatform,
			summary:  "Polling status per resource: cursor, last run, next run, errors, pauses, delete scans, quota (pollhook extension)",
			response: "PollStatus", handle: s.pollStatus},
		{method: "POST", path: "/instances/{id}/polls/run", id: "runAllPolls", tag: "polling", auth: authPlatform,
			summary:  "Poll every resource of the instance now (pollhook extension); 409 while its Insightly account's polls are paused by the daily quota or its reserve, with the reason",
			response: "RunRequested", status: 202, handle: s.runPolls},
		{method: "POST", path: "/instances/{id}/polls/{resource}/run", id: "runPoll", tag: "polling", auth: authPlatform,
			summary: "Poll one resource now; with {\"backfillFrom\": time}, report everything changed since then (pollhook extension); " +
				"409 while its Insightly account's polls are paused by the daily quota or its reserve (a backfill is accepted and waits)",
			request: "RunRequest", response: "RunRequested", status: 202, handle: s.runPolls},

		{method: "GET", path: "/instances/{id}/signature-key", id: "signatureKey", tag: "delivery", auth: authPlatform,
			summary:  "The key that signs the instance's notifications, and its Standard Webhooks secret (pollhook extension)",
			response: "SignatureKey", handle: s.signatureKey},
		{method: "POST", path: "/instances/{id}/callback-test", id: "callbackTest", tag: "delivery", auth: authPlatform,
			summary:  "Send the instance's callback a signed test notification (action \"test\", header Pollhook-Test: true) now, out of band; answers what the receiver said (pollhook extension)",
			response: "TestDelivery", handle: s.callbackTest},
		{method: "GET", path: "/instances/{id}/callback-tests/{testId}", id: "getCallbackTest", tag: "delivery", auth: authPlatform,
			summary: "One test notification's record (pollhook extension)", response: "TestDelivery", handle: s.getCallbackTest},
		{method: "GET", path: "/instances/{id}/notifications", id: "listNotifications", tag: "delivery", auth: authPlatform,
			query: []param{{"status", "created, retry, queued or delivered", "string"}, {"pageSize", "1-1000 (default 200)", "integer"},
				{"nextPage", "the Elements-Next-Page-Token of the previous page", "string"}},
			summary: "An instance's notifications, oldest first (pollhook extension)", response: "NotificationList", handle: s.listNotifications},
		{method: "GET", path: "/notifications/{notificationId}", id: "getNotification", tag: "delivery", auth: authPlatform,
			summary: "One notification, with the exact body sent", response: "Notification", handle: s.getNotification},
		{method: "GET", path: "/notifications/{notificationId}/attempts", id: "listAttempts", tag: "delivery", auth: authPlatform,
			summary: "Every attempt to deliver a notification", response: "AttemptList", handle: s.listAttempts},
		{method: "POST", path: "/notifications/{notificationId}/replay", id: "replayNotification", tag: "delivery", auth: authPlatform,
			summary: "Send a notification again (same ids, new attempts)", response: "Notification", status: 202, handle: s.replayNotification},
		{method: "GET", path: "/callbacks", id: "listCallbacks", tag: "delivery", auth: authPlatform,
			summary: "The organization's callback URLs and their state (active, retrying, suspended)", response: "CallbackList", handle: s.listCallbacks},
		{method: "POST", path: "/callbacks/{callbackId}/reactivate", id: "reactivateCallback", tag: "delivery", auth: authPlatform,
			summary: "Reactivate a suspended callback: its queued notifications go out, in order", response: "Callback", handle: s.reactivateCallback},
		{method: "GET", path: "/notifications/subscriptions/deliveries", id: "listDeliveries", tag: "delivery", auth: authPlatform,
			query: []param{{"where", "CEQL on channel, status, config.url, subscriptionId, instanceId, notificationId, createdDate and updatedDate, e.g. channel='webhook' and status='queued'", "string"},
				{"pageSize", "1-1000 (default 200)", "integer"}, {"nextPage", "the Elements-Next-Page-Token of the previous page", "string"}},
			summary: "Cloud Elements' deliveries, oldest first, a page at a time", response: "DeliveryList", handle: s.listDeliveries},
		{method: "PUT", path: "/notifications/subscriptions/deliveries", id: "redeliver", tag: "delivery", auth: authPlatform,
			query:   []param{{"where", "CEQL as for GET, e.g. channel='webhook' and status='queued'", "string"}},
			summary: "Cloud Elements' redelivery: reactivates the callbacks of every matching delivery; answers the first 1,000 matches, Elements-Total-Count says how many", response: "DeliveryList", handle: s.redeliver},

		{method: "GET", path: "/hubs/crm/{resource}", id: "hubList", tag: "hub", auth: authHub, query: hubList,
			summary:  "List records of a CRM resource (accounts, contacts, leads, opportunities, users, activities, me, or any Insightly object)",
			response: "RecordList", handle: s.hubList},
		{method: "POST", path: "/hubs/crm/{resource}", id: "hubCreate", tag: "hub", auth: authHub,
			summary: "Create a record", request: "Record", response: "Record", handle: s.hubCreate},
		{method: "GET", path: "/hubs/crm/{resource}/{recordId}", id: "hubGet", tag: "hub", auth: authHub,
			summary: "Read a record", response: "Record", handle: s.hubGet},
		{method: "PUT", path: "/hubs/crm/{resource}/{recordId}", id: "hubUpdate", tag: "hub", auth: authHub,
			summary: "Update a record (Insightly updates are partial: absent fields keep their values)", request: "Record", response: "Record", handle: s.hubUpdate(false)},
		{method: "PATCH", path: "/hubs/crm/{resource}/{recordId}", id: "hubPatch", tag: "hub", auth: authHub,
			summary: "Update parts of a record", request: "Record", response: "Record", handle: s.hubUpdate(true)},
		{method: "DELETE", path: "/hubs/crm/{resource}/{recordId}", id: "hubDelete", tag: "hub", auth: authHub,
			summary: "Delete a record", handle: s.hubDelete},

		{method: "GET", path: "/openapi.json", id: "openapi", tag: "meta", auth: authNone,
			summary: "This API's OpenAPI 3.1 document", handle: s.serveOpenAPI},
	}
}

// instanceID reads {id}, or for token-scoped routes the token's instance.
func (s *Server) instanceID(r *http.Request, p params) (int64, error) {
	c := callerOf(r)
	if raw, ok := p["id"]; ok {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id < 1 {
			return 0, &httpError{http.StatusBadRequest, "id: " + strconv.Quote(raw) + " is not an instance id"}
		}
		return id, nil
	}
	in, err := s.cfg.Instances.ByToken(r.Context(), c.Org.ID, c.token)
	if err != nil {
		return 0, err
	}
	return in.ID, nil
}

func (s *Server) createInstance(w http.ResponseWriter, r *http.Request, p params) {
	body, err := readBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.cfg.Instances.Create(r.Context(), callerOf(r).Caller, p["elementKey"], body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) listInstances(w http.ResponseWriter, r *http.Request, _ params) {
	q := r.URL.Query()
	f := store.InstanceFilter{Tags: append(q["tags[]"], q["tags"]...), Search: q.Get("searchText")}
	list, err := s.cfg.Instances.List(r.Context(), callerOf(r).Caller, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) getInstance(w http.ResponseWriter, r *http.Request, p params) {
	id, err := s.instanceID(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.cfg.Instances.Get(r.Context(), callerOf(r).Caller, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) updateInstance(patch bool) func(http.ResponseWriter, *http.Request, params) {
	return func(w http.ResponseWriter, r *http.Request, p params) {
		id, err := s.instanceID(r, p)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		body, err := readBody(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v, err := s.cfg.Instances.Update(r.Context(), callerOf(r).Caller, id, body, patch)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func (s *Server) deleteInstance(w http.ResponseWriter, r *http.Request, p params) {
	id, err := s.instanceID(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.cfg.Instances.Delete(r.Context(), callerOf(r).Caller, id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) setEnabled(enabled bool) func(http.ResponseWriter, *http.Request, params) {
	return func(w http.ResponseWriter, r *http.Request, p params) {
		id, err := s.instanceID(r, p)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v, err := s.cfg.Instances.SetEnabled(r.Context(), callerOf(r).Caller, id, enabled)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func configID(p params) (int64, error) {
	id, err := strconv.ParseInt(p["configId"], 10, 64)
	if err != nil || id < 1 {
		return 0, &httpError{http.StatusBadRequest, "configId: " + strconv.Quote(p["configId"]) + " is not a configuration item id"}
	}
	return id, nil
}

func (s *Server) listConfig(w http.ResponseWriter, r *http.Request, p params) {
	id, err := s.instanceID(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items, err := s.cfg.Instances.ConfigItems(r.Context(), callerOf(r).Caller, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, items)
}

func (s *Server) getConfig(w http.ResponseWriter, r *http.Request, p params) {
	id, err := s.instanceID(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cid, err := configID(p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	item, err := s.cfg.Instances.ConfigItemByID(r.Context(), callerOf(r).Caller, id, cid)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, item)
}

func (s *Server) patchConfig(w http.ResponseWriter, r *http.Request, p params) {
	id, err := s.instanceID(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cid, err := configID(p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body, err := readBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	item, err := s.cfg.Instances.PatchConfigItem(r.Context(), callerOf(r).Caller, id, cid, body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, item)
}

// hubConn opens the hub of the caller's Element token and sets the
// instance header every hub answer carries.
func (s *Server) hubConn(w http.ResponseWriter, r *http.Request) (element.Conn, bool) {
	c := callerOf(r)
	var conn element.Conn
	var in *store.Instance
	var err error
	if c.inst != nil {
		in = c.inst
		conn, err = s.cfg.Instances.OpenHub(in)
	} else {
		conn, in, err = s.cfg.Instances.Hub(r.Context(), c.Org.ID, c.token)
	}
	if in != nil {
		w.Header().Set("Elements-Element-Instance-Id", strconv.FormatInt(in.ID, 10))
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return conn, true
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func (s *Server) hubList(w http.ResponseWriter, r *http.Request, p params) {
	q := r.URL.Query()
	req := element.ListRequest{Where: q.Get("where"), NextPage: q.Get("nextPage")}
	for name, dst := range map[string]*int{"page": &req.Page, "pageSize": &req.PageSize} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				s.fail(w, r, &httpError{http.StatusBadRequest, name + ": " + strconv.Quote(v) + " is not a positive whole number"})
				return
			}
			*dst = n
		}
	}
	conn, ok := s.hubConn(w, r)
	if !ok {
		return
	}
	out, err := conn.List(r.Context(), p["resource"], req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if out.NextPage != "" {
		w.Header().Set("Elements-Next-Page-Token", out.NextPage)
	}
	w.Header().Set("Elements-Returned-Count", strconv.Itoa(len(out.Records)))
	records := out.Records
	if records == nil {
		records = []json.RawMessage{}
	}
	b, _ := json.Marshal(records)
	writeRaw(w, http.StatusOK, b)
}

func (s *Server) hubGet(w http.ResponseWriter, r *http.Request, p params) {
	conn, ok := s.hubConn(w, r)
	if !ok {
		return
	}
	res, err := conn.Get(r.Context(), p["resource"], p["recordId"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, res.Record)
}

func (s *Server) hubCreate(w http.ResponseWriter, r *http.Request, p params) {
	body, err := readBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	conn, ok := s.hubConn(w, r)
	if !ok {
		return
	}
	res, err := conn.Create(r.Context(), p["resource"], body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, res.Record)
}

func (s *Server) hubUpdate(patch bool) func(http.ResponseWriter, *http.Request, params) {
	return func(w http.ResponseWriter, r *http.Request, p params) {
		body, err := readBody(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		conn, ok := s.hubConn(w, r)
		if !ok {
			return
		}
		res, err := conn.Update(r.Context(), p["resource"], p["recordId"], body, patch)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeRaw(w, http.StatusOK, res.Record)
	}
}

func (s *Server) hubDelete(w http.ResponseWriter, r *http.Request, p params) {
	conn, ok := s.hubConn(w, r)
	if !ok {
		return
	}
	if err := conn.Delete(r.Context(), p["resource"], p["recordId"]); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
