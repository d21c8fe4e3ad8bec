package console

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/store"
)

// Hub serves an instance's hub calls for a signed-in caller, and the API's
// OpenAPI document (package api's Server implements it).
type Hub interface {
	ServeHub(w http.ResponseWriter, r *http.Request, c instance.Caller, inst *store.Instance)
	OpenAPI() []byte
}

// apiBase is where the API serves its calls (api.BasePath).
const apiBase = "/elements/api-v2"

// apiDocs: the OpenAPI document of the instance's hub calls, rendered by
// a vendored Swagger UI, with "try it" answered through the console's
// session (no secret is put in the page).
func (c *Console) apiDocs(w http.ResponseWriter, r *http.Request, v *viewer) {
	in, ok := c.view(w, r, v)
	if !ok {
		return
	}
	// Swagger UI sets style attributes: this page alone allows them.
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "+
		"img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	c.render(w, http.StatusOK, "apidocs", v.page("API docs of "+in.Name, in))
}

// apiSpec is the API's OpenAPI document cut down to the hub calls, served
// from the console's proxy of this instance, without security schemes:
// the session authenticates.
func (c *Console) apiSpec(w http.ResponseWriter, r *http.Request, v *viewer) {
	in, ok := c.view(w, r, v)
	if !ok {
		return
	}
	var doc map[string]any
	if err := json.Unmarshal(c.cfg.Hub.OpenAPI(), &doc); err != nil {
		c.fail(w, r, v, err)
		return
	}
	paths, _ := doc["paths"].(map[string]any)
	hub := map[string]any{}
	for p, ops := range paths {
		p, ok := strings.CutPrefix(p, apiBase)
		if !ok || !strings.HasPrefix(p, "/hubs/") {
			continue
		}
		if m, ok := ops.(map[string]any); ok {
			for _, op := range m {
				if o, ok := op.(map[string]any); ok {
					delete(o, "security")
				}
			}
		}
		hub[p] = ops
	}
	doc["paths"] = hub
	delete(doc, "security")
	if comps, ok := doc["components"].(map[string]any); ok {
		delete(comps, "securitySchemes")
	}
	doc["servers"] = []map[string]string{{"url": "/instances/" + strconv.FormatInt(in.ID, 10) + "/api",
		"description": in.Name + ", through your console session"}}
	if info, ok := doc["info"].(map[string]any); ok {
		info["title"] = "Hub calls of " + in.Name
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(doc)
}

// apiCall answers a hub call of the instance ("try it") through the API's
// own handlers, as the signed-in user.
func (c *Console) apiCall(w http.ResponseWriter, r *http.Request, v *viewer) {
	id, err := c.instanceID(r)
	var inst *store.Instance
	if err == nil {
		inst, err = c.cfg.Store.Instance(r.Context(), v.caller.Org.ID, id)
	}
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"message": "no such instance"})
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = apiBase + "/hubs/" + r.PathValue("path")
	r2.URL.RawPath = ""
	c.cfg.Hub.ServeHub(w, r2, v.caller, inst)
}
