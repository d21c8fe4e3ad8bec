package insightly

import (
	"maps"
	"net/http"
	"slices"
	"strings"
)

// An account is one Insightly instance (a customer): its users and their
// API keys, its plan, its records and its rate-limit state.
type account struct {
	id        int64
	name      string
	subdomain string
	plan      string
	users     []*user
	objects   map[string]*object // lower-cased collection name → definition
	colls     map[string]*collection
	// customFields by collection name.
	customFields map[string][]CustomField
	// gated objects answer 403 (no access on this plan) or 404 (not on
	// this plan at all), as amp-labs saw on a Professional plan.
	gated   map[string]int
	subID   int64 // LINK_ID, DATE_ID, EMAIL_DOMAIN_ID
	limiter limiter
	traffic traffic
}

type user struct {
	id   int64
	keys []string
}

// Plans and what they gate and allow per day (Airbyte bootstrap.md, spec §10).
var plans = map[string]struct {
	quota int
	gated map[string]int
}{
	"Gratis":       {1000, map[string]int{"Ticket": 403, "Prospect": 403, "Product": 404}},
	"Plus":         {40000, map[string]int{"Ticket": 403, "Prospect": 403, "Product": 404}},
	"Professional": {60000, map[string]int{"Ticket": 403, "Prospect": 403, "Product": 404}},
	"Enterprise":   {100000, map[string]int{}},
}

// PlanNames lists the plans the simulator knows.
func PlanNames() []string { return slices.Sorted(maps.Keys(plans)) }

func (a *account) coll(name string) *collection { return a.colls[strings.ToLower(name)] }

func (a *account) lookup(name string) *object { return a.objects[strings.ToLower(name)] }

func (a *account) userByID(id int64) *user {
	for _, u := range a.users {
		if u.id == id {
			return u
		}
	}
	return nil
}

func (a *account) nextSubID() int64 {
	a.subID++
	return a.subID
}

// addObject registers a collection for this account.
func (a *account) addObject(o *object, firstID int64) {
	a.objects[strings.ToLower(o.Name)] = o
	a.colls[strings.ToLower(o.Name)] = newCollection(o, firstID)
}

// gate reports the status an object answers on this account's plan, or 0.
func (a *account) gate(o *object) int {
	return a.gated[o.Name]
}

func gateMessage(status int, o *object) string {
	if status == http.StatusForbidden {
		return "API User does not have access to " + o.Name + "."
	}
	return o.Name + " not found."
}
