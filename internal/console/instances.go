package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/delivery"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/poller"
	"github.com/pollhook/pollhook/internal/store"
)

// row is one instance in the list.
type row struct {
	View   *instance.View
	Status *poller.InstanceStatus
	// Callback is the state of the instance's callback ("" when it has
	// none yet); Suspended warns that it receives nothing.
	Callback  string
	Suspended bool
}

type listData struct {
	Rows    []row
	Q, Tag  string
	AllTags []string
	Total   int // instances in the organization, before the search
	// Matched is how many match the search; the page shows the rows
	// First to Last of them (1-based), with links to the pages around it.
	Matched, First, Last int
	Prev, Next           string
}

// listPageSize is how many instances a page of the list shows: each row
// reads its polls' status.
const listPageSize = 50

// list: the organization's instances, searched by name and filtered by
// tag, a page at a time, with each resource's last and next poll.
func (c *Console) list(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	q := r.URL.Query()
	d := listData{Q: strings.TrimSpace(q.Get("q")), Tag: q.Get("tag")}
	all, err := c.cfg.Instances.List(ctx, v.caller, store.InstanceFilter{})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	d.Total = len(all)
	for _, in := range all {
		for _, t := range in.Tags {
			if !slices.Contains(d.AllTags, t) {
				d.AllTags = append(d.AllTags, t)
			}
		}
	}
	slices.Sort(d.AllTags)
	callbacks, err := c.callbacks(r, v)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	var matched []*instance.View
	for _, in := range all {
		if d.Tag != "" && !slices.Contains(in.Tags, d.Tag) {
			continue
		}
		if d.Q != "" && !strings.Contains(strings.ToLower(in.Name), strings.ToLower(d.Q)) {
			continue
		}
		matched = append(matched, in)
	}
	// A page of them: the list says which, and links to the others.
	page, _ := strconv.Atoi(q.Get("page"))
	pages := max(1, (len(matched)+listPageSize-1)/listPageSize)
	page = min(max(page, 1), pages)
	from, to := (page-1)*listPageSize, min(page*listPageSize, len(matched))
	d.Matched, d.First, d.Last = len(matched), from+1, to
	link := func(p int) string {
		v := url.Values{"page": {strconv.Itoa(p)}}
		if d.Q != "" {
			v.Set("q", d.Q)
		}
		if d.Tag != "" {
			v.Set("tag", d.Tag)
		}
		return "/instances?" + v.Encode()
	}
	if page > 1 {
		d.Prev = link(page - 1)
	}
	if page < pages {
		d.Next = link(page + 1)
	}
	for _, in := range matched[from:to] {
		rw := row{View: in}
		if cb := callbacks[in.Configuration[instance.KeyCallbackURL]]; cb != nil {
			rw.Callback, rw.Suspended = cb.State, cb.State == store.CallbackSuspended
		}
		if rw.Status, err = c.status(r, v, in.ID); err != nil {
			c.fail(w, r, v, err)
			return
		}
		d.Rows = append(d.Rows, rw)
	}
	c.render(w, http.StatusOK, "instances", v.page("Instances", d))
}

func (c *Console) callbacks(r *http.Request, v *viewer) (map[string]*store.Callback, error) {
	cbs, err := c.cfg.Store.Callbacks(r.Context(), v.caller.Org.ID)
	out := map[string]*store.Callback{}
	for _, cb := range cbs {
		out[cb.URL] = cb
	}
	return out, err
}

func (c *Console) status(r *http.Request, v *viewer, id int64) (*poller.InstanceStatus, error) {
	inst, err := c.cfg.Store.Instance(r.Context(), v.caller.Org.ID, id)
	if err != nil {
		return nil, err
	}
	return c.cfg.Polls.Status(r.Context(), inst)
}

// defaults is the element's default poller configuration.
func (c *Console) defaults() json.RawMessage {
	if el, ok := c.cfg.Instances.Elements.Get("insightly"); ok {
		return el.DefaultPollerConfig()
	}
	return json.RawMessage(`{}`)
}

type formData struct {
	Form     *instanceForm
	Defaults string // the element's default configuration per resource, for console.js
}

func (c *Console) renderForm(w http.ResponseWriter, status int, v *viewer, f *instanceForm) {
	title := "Create instance"
	if f.ID != 0 {
		title = "Edit " + f.Name
	}
	c.render(w, status, "form", v.page(title, formData{Form: f, Defaults: string(c.defaults())}))
}

func (c *Console) newPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	c.renderForm(w, http.StatusOK, v, newForm(c.defaults()))
}

// create: the form's body goes through the API's own service; a refusal
// comes back as the form, as typed, with each error beside its field.
func (c *Console) create(w http.ResponseWriter, r *http.Request, v *viewer) {
	r.ParseForm()
	f := formFromRequest(r.PostForm, c.defaults())
	if r.PostForm.Get("action") == "add" { // "add resource" without JavaScript
		c.renderForm(w, http.StatusOK, v, f)
		return
	}
	in, err := c.cfg.Instances.Create(r.Context(), v.caller, "", f.body())
	if err != nil {
		c.refused(w, r, v, f, err)
		return
	}
	http.Redirect(w, r, "/instances/"+strconv.FormatInt(in.ID, 10)+"?done=created", http.StatusSeeOther)
}

func (c *Console) refused(w http.ResponseWriter, r *http.Request, v *viewer, f *instanceForm, err error) {
	var ie *instance.Error
	if !errors.As(err, &ie) || ie.Status >= 500 {
		c.fail(w, r, v, err)
		return
	}
	f.place(err)
	c.renderForm(w, ie.Status, v, f)
}

func (c *Console) instanceID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, store.ErrNotFound
	}
	return id, nil
}

func (c *Console) view(w http.ResponseWriter, r *http.Request, v *viewer) (*instance.View, bool) {
	id, err := c.instanceID(r)
	if err == nil {
		var in *instance.View
		if in, err = c.cfg.Instances.Get(r.Context(), v.caller, id); err == nil {
			return in, true
		}
	}
	c.fail(w, r, v, err)
	return nil, false
}

type detailData struct {
	View     *instance.View
	Config   []configItem
	Status   *poller.InstanceStatus
	Callback *store.Callback
	// The signature key and the Standard Webhooks secret derived from it
	// ("" when events are off).
	SignatureKey, StandardSecret string
	Charts                       chartSet
	// Tests are the instance's most recent test notifications, newest
	// first.
	Tests []*store.TestDelivery
	// Backfill is a refused backfill's date and error.
	Backfill backfillInput
}

type configItem struct{ Key, Value string }

func (c *Console) detail(w http.ResponseWriter, r *http.Request, v *viewer) {
	in, ok := c.view(w, r, v)
	if !ok {
		return
	}
	c.renderDetail(w, r, v, in, http.StatusOK, backfillInput{})
}

// backfillInput is a refused backfill, shown beside its date field with
// the date as typed.
type backfillInput struct {
	Resource, Value, Error string
}

// renderDetail renders an instance's page, with status and, when a
// backfill was refused, its error beside the date.
func (c *Console) renderDetail(w http.ResponseWriter, r *http.Request, v *viewer, in *instance.View, status int, bf backfillInput) {
	d := detailData{View: in, Backfill: bf}
	for k, val := range in.Configuration {
		if k == instance.KeyPollerConfig {
			val = pretty(json.RawMessage(val))
		}
		d.Config = append(d.Config, configItem{k, val})
	}
	slices.SortFunc(d.Config, func(a, b configItem) int { return strings.Compare(a.Key, b.Key) })
	inst, err := c.cfg.Store.Instance(r.Context(), v.caller.Org.ID, in.ID)
	if err == nil {
		d.Status, err = c.cfg.Polls.Status(r.Context(), inst)
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if cfg, err := c.cfg.Instances.Config(inst); err == nil && cfg[instance.KeySignatureKey] != "" {
		d.SignatureKey = cfg[instance.KeySignatureKey]
		d.StandardSecret = delivery.StandardSecret(d.SignatureKey)
	}
	if cbs, err := c.callbacks(r, v); err == nil {
		d.Callback = cbs[in.Configuration[instance.KeyCallbackURL]]
	}
	if d.Charts, err = c.chartsFor(r, v.caller.Org.ID, in.ID); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if d.Tests, err = c.cfg.Store.TestDeliveries(r.Context(), v.caller.Org.ID, in.ID, 10); err != nil {
		c.fail(w, r, v, err)
		return
	}
	p := v.page(in.Name, d)
	if bf.Error != "" {
		p.Problem = strings.TrimSpace("Backfill "+bf.Resource) + ": " + bf.Error
	}
	c.render(w, status, "instance", p)
}

func (c *Console) editPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	in, ok := c.view(w, r, v)
	if !ok {
		return
	}
	c.renderForm(w, http.StatusOK, v, formFromView(in, c.defaults()))
}

// edit applies the form as a PATCH: keys the form does not show are kept,
// and a blank API key keeps the stored one — unless the pod or the API
// URL changes, when the service asks for the key again.
func (c *Console) edit(w http.ResponseWriter, r *http.Request, v *viewer) {
	in, ok := c.view(w, r, v)
	if !ok {
		return
	}
	r.ParseForm()
	f := formFromRequest(r.PostForm, c.defaults())
	f.ID, f.HasKey = in.ID, in.Configuration[keyAPIKey] != ""
	if r.PostForm.Get("action") == "add" {
		c.renderForm(w, http.StatusOK, v, f)
		return
	}
	if _, err := c.cfg.Instances.Update(r.Context(), v.caller, in.ID, f.body(), true); err != nil {
		c.refused(w, r, v, f, err)
		return
	}
	http.Redirect(w, r, "/instances/"+strconv.FormatInt(in.ID, 10)+"?done=saved", http.StatusSeeOther)
}

// poll asks for a run now, of one resource or all, optionally
// backfilling one resource from a date.
func (c *Console) poll(w http.ResponseWriter, r *http.Request, v *viewer) {
	id, err := c.instanceID(r)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	inst, err := c.cfg.Store.Instance(r.Context(), v.caller.Org.ID, id)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	r.ParseForm()
	resource := r.PostForm.Get("resource")
	// Each button does its own thing: "Poll now" (action=poll) polls even
	// with a date typed beside it; "Backfill" (action=backfill) needs the
	// date. Without an action (a client of the form before the buttons
	// said which they were), a date means a backfill.
	action := r.PostForm.Get("action")
	from := strings.TrimSpace(r.PostForm.Get("backfillFrom"))
	if action == "" && from != "" {
		action = "backfill"
	}
	var backfill time.Time
	if action == "backfill" {
		bf := backfillInput{Resource: resource, Value: r.PostForm.Get("backfillFrom")}
		switch {
		case resource == "":
			bf.Error = "a backfill names one resource."
		case from == "":
			bf.Error = "give the date to backfill from."
		default:
			if backfill, err = time.Parse("2006-01-02", from); err != nil {
				bf.Error = strconv.Quote(from) + " is not a date like 2025-01-31."
			}
		}
		if bf.Error != "" {
			in, ok := c.view(w, r, v)
			if ok {
				c.renderDetail(w, r, v, in, http.StatusBadRequest, bf)
			}
			return
		}
	}
	n, err := c.cfg.Polls.RunNow(r.Context(), inst, resource, backfill)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	done := "polling"
	if n == 0 {
		done = "nothing to poll"
	} else if !backfill.IsZero() {
		done = "backfilling"
	}
	http.Redirect(w, r, "/instances/"+strconv.FormatInt(id, 10)+"?done="+url.QueryEscape(done), http.StatusSeeOther)
}

func (c *Console) enable(on bool) func(http.ResponseWriter, *http.Request, *viewer) {
	return func(w http.ResponseWriter, r *http.Request, v *viewer) {
		id, err := c.instanceID(r)
		if err == nil {
			_, err = c.cfg.Instances.SetEnabled(r.Context(), v.caller, id, on)
		}
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		done := "disabled"
		if on {
			done = "enabled"
		}
		http.Redirect(w, r, "/instances/"+strconv.FormatInt(id, 10)+"?done="+done, http.StatusSeeOther)
	}
}

func (c *Console) deletePage(w http.ResponseWriter, r *http.Request, v *viewer) {
	in, ok := c.view(w, r, v)
	if !ok {
		return
	}
	c.render(w, http.StatusOK, "delete", v.page("Delete "+in.Name, in))
}

func (c *Console) delete(w http.ResponseWriter, r *http.Request, v *viewer) {
	id, err := c.instanceID(r)
	if err == nil {
		err = c.cfg.Instances.Delete(r.Context(), v.caller, id)
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/instances?done=deleted", http.StatusSeeOther)
}
