package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pollhook/pollhook/internal/instance"
)

// The instance form: the seed's create-instance steps, in the seed's
// order. It holds what the user typed, as typed, so that a refused form
// comes back as it was sent, with each error beside its field. It has no
// rules of its own: it builds the API's body, and the instance service
// (the API's own code) judges it.

// Configuration keys of the Insightly element the form shows.
const (
	keyUsername = "username"
	keyAPIKey   = "password"
	keyPod      = "insightly.pod"
	keyBaseURL  = "base.url"
)

// pods are the Insightly pods the selector offers; "url" means an API
// URL typed instead.
var pods = []string{"na1", "eu1", "au1"}

type instanceForm struct {
	ID      int64 // 0: a new instance
	Name    string
	User    string // Insightly user name
	APIKey  string
	HasKey  bool   // editing: the instance has an API key; blank keeps it
	Pod     string // one of pods, or "url"
	BaseURL string
	Events  bool
	Hook    string // event notification callback URL
	// Interval is event.poller.refresh_interval, as typed.
	Interval string
	// Resources are the checkboxes: the element's defaults, then any
	// other object the configuration polls.
	Resources []resource
	// Poller is the event.poller.configuration JSON editor's text: the
	// source of truth, which the checkboxes and the per-resource forms
	// edit (console.js keeps them in step; the server does too).
	Poller       string
	AddResource  string
	SignatureKey string
	Tags         string

	// Errors by input name; the rest (paths the form has no input for).
	Errors map[string]string
	Other  []string
	// PollerLines marks the editor's lines an error points at.
	PollerLines []lineError
}

type resource struct {
	Name    string
	Checked bool
	Default bool
}

type lineError struct {
	Line    int
	Message string
}

// Pods lists the selector's choices.
func (f *instanceForm) Pods() []string { return pods }

// newForm is the create form, with the element's defaults.
func newForm(defaults json.RawMessage) *instanceForm {
	f := &instanceForm{Events: true, Interval: "15", Pod: "na1", Poller: pretty(defaults)}
	f.Resources = resourcesOf(defaults, f.Poller)
	return f
}

// formFromView is the edit form of an instance. Secrets are never put
// back into the page: the API key is blank, and blank keeps it.
func formFromView(v *instance.View, defaults json.RawMessage) *instanceForm {
	c := v.Configuration
	f := &instanceForm{ID: v.ID, Name: v.Name, User: c[keyUsername], HasKey: c[keyAPIKey] != "", Pod: c[keyPod],
		BaseURL: c[keyBaseURL], Events: v.EventsEnabled, Hook: c[instance.KeyCallbackURL],
		Interval: c[instance.KeyRefreshInterval], Tags: strings.Join(v.Tags, ", ")}
	switch {
	case f.BaseURL != "":
		f.Pod = "url"
	case f.Pod == "":
		f.Pod = "na1"
	}
	f.Poller = pretty(json.RawMessage(c[instance.KeyPollerConfig]))
	if strings.TrimSpace(f.Poller) == "" {
		f.Poller = pretty(defaults)
	}
	f.Resources = resourcesOf(defaults, f.Poller)
	return f
}

// formFromRequest reads a posted form, as typed.
func formFromRequest(v url.Values, defaults json.RawMessage) *instanceForm {
	f := &instanceForm{Name: v.Get("name"), User: v.Get("username"), APIKey: v.Get("apiKey"), Pod: v.Get("pod"),
		BaseURL: v.Get("baseUrl"), Events: v.Get("events") == "on", Hook: v.Get("callbackUrl"),
		Interval: v.Get("interval"), Poller: v.Get("pollerConfig"), AddResource: strings.TrimSpace(v.Get("addResource")),
		SignatureKey: v.Get("signatureKey"), Tags: v.Get("tags"), HasKey: v.Get("hasKey") == "1"}
	f.Poller = syncResources(f.Poller, defaults, v["shown"], v["resource"], f.AddResource)
	f.Resources = resourcesOf(defaults, f.Poller)
	return f
}

// syncResources makes the editor's JSON poll what the checkboxes say.
// shown are the resources the page had checkboxes for: a checked one
// missing from the JSON is added (a default with the element's
// configuration, another with {}), an unchecked one is removed; a
// resource typed into the JSON that had no checkbox yet is kept. An
// added resource gets {} (the element fills in its default, as the API
// does). Other keys, and the text itself when nothing changes, are kept
// as typed. JSON that does not parse is left alone: the API says where
// it is wrong.
func syncResources(text string, defaults json.RawMessage, shown, checked []string, add string) string {
	var cfg map[string]json.RawMessage
	if strings.TrimSpace(text) == "" {
		cfg = map[string]json.RawMessage{}
	} else if err := json.Unmarshal([]byte(text), &cfg); err != nil || cfg == nil {
		return text
	}
	var defs map[string]json.RawMessage
	json.Unmarshal(defaults, &defs)
	changed := false
	for _, name := range shown {
		_, present := cfg[name]
		switch want := slices.Contains(checked, name); {
		case want && !present:
			def, ok := defs[name]
			if !ok {
				def = json.RawMessage(`{}`)
			}
			cfg[name], changed = def, true
		case !want && present:
			delete(cfg, name)
			changed = true
		}
	}
	if _, ok := cfg[add]; add != "" && !ok {
		cfg[add], changed = json.RawMessage(`{}`), true
	}
	if !changed {
		return text
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	return string(b)
}

// resourcesOf lists the checkboxes: the element's defaults in their
// order, checked when the configuration polls them, then the others it
// polls.
func resourcesOf(defaults json.RawMessage, text string) []resource {
	var out []resource
	polled := keysOf(json.RawMessage(text))
	for _, name := range keysOf(defaults) {
		out = append(out, resource{Name: name, Default: true, Checked: slices.Contains(polled, name)})
	}
	for _, name := range polled {
		if !slices.ContainsFunc(out, func(r resource) bool { return r.Name == name }) {
			out = append(out, resource{Name: name, Checked: true})
		}
	}
	return out
}

// keysOf is an object's keys in their order ("" for anything else).
func keysOf(raw json.RawMessage) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return keys
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return keys
		}
	}
	return keys
}

func pretty(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

// body is the API's request body for the form: POST for a new instance,
// PATCH for an existing one (configuration keys the form does not show
// are kept; a blank API key or signature key keeps the stored one).
func (f *instanceForm) body() []byte {
	cfg := map[string]any{
		keyUsername:                 f.User,
		instance.KeyEventsEnabled:   f.Events,
		instance.KeyCallbackURL:     f.Hook,
		instance.KeyRefreshInterval: f.Interval,
	}
	if f.APIKey != "" || f.ID == 0 {
		cfg[keyAPIKey] = f.APIKey
	}
	if f.Pod == "url" {
		cfg[keyBaseURL], cfg[keyPod] = f.BaseURL, nil
	} else {
		cfg[keyPod], cfg[keyBaseURL] = f.Pod, nil
	}
	if f.ID == 0 {
		// A new instance has nothing to remove.
		for k, v := range cfg {
			if v == nil {
				delete(cfg, k)
			}
		}
	}
	if raw := json.RawMessage(strings.TrimSpace(f.Poller)); json.Valid(raw) {
		cfg[instance.KeyPollerConfig] = raw
	} else {
		cfg[instance.KeyPollerConfig] = f.Poller // the API says what is wrong with it
	}
	if f.SignatureKey != "" {
		cfg[instance.KeySignatureKey] = f.SignatureKey
	}
	tags := []string{}
	for t := range strings.SplitSeq(f.Tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	b, _ := json.Marshal(map[string]any{"element": map[string]string{"key": "insightly"}, "name": f.Name,
		"tags": tags, "configuration": cfg})
	return b
}

// inputs maps the API's field paths to the form's inputs.
var inputs = map[string]string{
	"name":                         "name",
	"tags":                         "tags",
	"configuration." + keyUsername: "username",
	"configuration." + keyAPIKey:   "apiKey",
	"configuration." + keyPod:      "pod",
	"configuration." + keyBaseURL:  "baseUrl",
	"configuration." + instance.KeyEventsEnabled:   "events",
	"configuration." + instance.KeyCallbackURL:     "callbackUrl",
	"configuration." + instance.KeyRefreshInterval: "interval",
	"configuration." + instance.KeySignatureKey:    "signatureKey",
}

const pollerPath = "configuration." + instance.KeyPollerConfig

// place puts the service's refusal beside the fields it names.
func (f *instanceForm) place(err error) {
	f.Errors, f.Other, f.PollerLines = map[string]string{}, nil, nil
	for _, fe := range fieldErrors(err) {
		if strings.HasPrefix(fe.Field, "tags[") {
			fe.Field = "tags" // tags[2]: the tags input
		}
		switch {
		case inputs[fe.Field] != "":
			if _, taken := f.Errors[inputs[fe.Field]]; !taken {
				f.Errors[inputs[fe.Field]] = fe.Message
			}
		case fe.Field == pollerPath || strings.HasPrefix(fe.Field, pollerPath+"."):
			// The first error of the JSON goes beside the editor; the others
			// below it. Each names its path and the line it is on.
			path := strings.TrimPrefix(strings.TrimPrefix(fe.Field, pollerPath), ".")
			line := lineOf(f.Poller, path)
			msg := fe.Message
			if path != "" {
				msg = path + ": " + msg
			}
			if _, taken := f.Errors["pollerConfig"]; taken {
				f.PollerLines = append(f.PollerLines, lineError{Line: line, Message: msg})
				break
			}
			if line > 0 {
				msg = "line " + strconv.Itoa(line) + ": " + msg
			}
			f.Errors["pollerConfig"] = msg
		default:
			f.Other = append(f.Other, strings.TrimPrefix(fe.Field+": ", ": ")+fe.Message)
		}
	}
}

// fieldErrors are the fields a refusal names. A refusal that names none
// (the upstream unreachable, say) is shown above the form.
func fieldErrors(err error) []instance.FieldError {
	var ie *instance.Error
	if errors.As(err, &ie) && len(ie.Fields) > 0 {
		return ie.Fields
	}
	return []instance.FieldError{{Message: err.Error()}}
}

// lineOf finds the line of the JSON text where a dotted path's last key
// is, following its keys in order (1-based; 0 when not found).
func lineOf(text, path string) int {
	if path == "" {
		return 0
	}
	lines := strings.Split(text, "\n")
	at := 0
	found := 0
	for key := range strings.SplitSeq(path, ".") {
		quoted := strconv.Quote(key) + ":"
		hit := -1
		for i := at; i < len(lines); i++ {
			if strings.Contains(strings.ReplaceAll(lines[i], `": `, `":`), quoted) {
				hit = i
				break
			}
		}
		if hit < 0 {
			break // the rest of the path is not in the text: point at what is
		}
		at, found = hit, hit+1
	}
	return found
}
