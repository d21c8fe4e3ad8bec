package insightly

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// generator makes realistic, reproducible CRM data: the same seed and
// start time give the same accounts, keys, IDs and records.
type generator struct {
	rng   *rand.Rand
	start time.Time
}

func newGenerator(seed uint64, start time.Time) *generator {
	return &generator{rng: rand.New(rand.NewPCG(seed, 0x1a5)), start: start.UTC().Truncate(time.Second)}
}

var (
	firstNames = strings.Fields(`Pamela Katherine Ada Grace Alan Linus Margaret Barbara Dennis Ken Radia Frances
		Tim Vint Donald Edsger Leslie John Sophie Hedy Annie Mary Niklaus Bjarne Guido Rob Yukihiro Anders
		James Larry Sergey Marissa Susan Sheryl Reed Jensen Lisa Satya Sundar Mira Priya Arjun Chen Wei
		Fatima Omar Lars Ingrid Sven Astrid Mateo Lucia Diego Camila Kofi Amara Kenji Yuki Olga Ivan`)
	lastNames = strings.Fields(`Huber Nguyen Lovelace Hopper Turing Torvalds Hamilton Liskov Ritchie Thompson
		Perlman Allen Berners-Lee Cerf Knuth Dijkstra Lamport McCarthy Wilson Lamarr Easley Jackson Wirth
		Stroustrup Rossum Pike Matsumoto Hejlsberg Gosling Page Brin Mayer Wojcicki Sandberg Hastings Huang
		Su Nadella Pichai Murati Sharma Patel Zhang Li Haddad Nilsen Berg Johansson Garcia Rodriguez
		Lopez Mensah Okafor Tanaka Sato Petrova Ivanov Schmidt Dubois Rossi Kowalski`)
	companyStems = strings.Fields(`Bergen Northwind Contoso Fabrikam Globex Initech Umbrella Hooli Pied Vandelay
		Wayne Stark Tyrell Cyberdyne Soylent Aperture Wonka Acme Oscorp Gringotts Duff Monarch Nakatomi
		Massive Dynamic Prestige Sirius Blue Summit Harbor Granite Maple Cedar Pine Aurora Polar Zenith`)
	companySuffixes = []string{"Ltd", "Inc", "GmbH", "AS", "Pty Ltd", "LLC", "SA", "Group", "Holdings", "& Co"}
	places          = []struct{ city, state, postcode, country string }{
		{"Bergen", "", "5020", "Norway"}, {"Oslo", "", "0150", "Norway"}, {"London", "", "EC1A 1BB", "United Kingdom"},
		{"Manchester", "", "M1 1AE", "United Kingdom"}, {"Denver", "CO", "80202", "United States"},
		{"Austin", "TX", "78701", "United States"}, {"Seattle", "WA", "98101", "United States"},
		{"Boston", "MA", "02108", "United States"}, {"Toronto", "ON", "M5H 2N2", "Canada"},
		{"Sydney", "NSW", "2000", "Australia"}, {"Paris", "", "75001", "France"}, {"Berlin", "", "10115", "Germany"},
		{"Madrid", "", "28013", "Spain"}, {"Tokyo", "", "100-0001", "Japan"}, {"Nairobi", "", "00100", "Kenya"},
	}
	streets    = strings.Fields(`Main High Church Market Station Park Mill King Queen Harbour Bridge Elm Oak`)
	titles     = []string{"CEO", "CTO", "Head of Sales", "Account Manager", "Engineer", "Office Manager", "Buyer", "VP Marketing", "Consultant", "Director of Operations"}
	industries = []string{"Software", "Manufacturing", "Retail", "Healthcare", "Education", "Finance", "Logistics", "Energy", "Hospitality", "Public Sector"}
	tagNames   = []string{"VIP", "Partner", "Newsletter", "Conference 2026", "Referral", "Churn risk", "Paris", "Upsell"}
	hobbies    = []string{"Skiing", "Chess", "Sailing", "Climbing", "Photography", "Gardening", "Running"}
	dealWords  = []string{"Website rebuild", "CRM rollout", "Annual licence", "Support renewal", "Data migration", "Hardware refresh", "Training package", "Pilot project"}
	taskWords  = []string{"Call back", "Send proposal", "Prepare demo", "Follow up on invoice", "Book meeting", "Review contract"}
	eventWords = []string{"Quarterly review", "Kick-off meeting", "Product demo", "Site visit", "Lunch"}
	fruits     = []string{"Apple", "Banana", "Cherry", "Damson", "Elderberry", "Fig", "Grape", "Kiwi", "Lemon", "Mango"}
	colors     = []string{"Green", "Yellow", "Red", "Purple", "Orange"}
	domains    = []string{"mail.com", "example.org", "post.test", "inbox.example"}
)

func (g *generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

func (g *generator) maybe(p float64, v any) any {
	if g.chance(p) {
		return v
	}
	return nil
}

func (g *generator) phone() string {
	return fmt.Sprintf("+%d %03d %03d %04d", 1+g.rng.IntN(60), g.rng.IntN(1000), g.rng.IntN(1000), g.rng.IntN(10000))
}

func (g *generator) street() string {
	return fmt.Sprintf("%d %s Street", 1+g.rng.IntN(250), g.pick(streets))
}

func (g *generator) company() string {
	return g.pick(companyStems) + " " + g.pick(companySuffixes)
}

// guid is the shape of an Insightly API key.
func (g *generator) guid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.rng.UintN(256))
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// pastTimes returns n sorted creation times within the last two years, so
// that ascending IDs follow creation order, as in Insightly.
func (g *generator) pastTimes(n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = g.start.Add(-time.Duration(1+g.rng.Int64N(int64(730*24*time.Hour/time.Second))) * time.Second)
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// updatedAfter picks a last-update time: often the creation time itself
// (never edited), otherwise some time between creation and start.
func (g *generator) updatedAfter(created time.Time) time.Time {
	if g.chance(0.35) {
		return created
	}
	span := g.start.Sub(created)
	if span <= time.Second {
		return created
	}
	return created.Add(time.Duration(g.rng.Int64N(int64(span/time.Second))) * time.Second)
}

func (g *generator) tags() []any {
	out := []any{}
	for range g.rng.IntN(3) {
		t := g.pick(tagNames)
		if !slices.ContainsFunc(out, func(e any) bool { return e.(map[string]any)["TAG_NAME"] == t }) {
			out = append(out, map[string]any{"TAG_NAME": t})
		}
	}
	return out
}

// customValue returns a plausible value of a custom field.
func (g *generator) customValue(d CustomField) any {
	if g.chance(0.2) {
		return nil
	}
	switch d.Type {
	case "BIT":
		return g.chance(0.5)
	case "NUMERIC":
		return float64(g.rng.IntN(5000))
	case "PERCENT":
		return float64(g.rng.IntN(40))
	case "DATE", "DATETIME":
		return formatDate(g.start.AddDate(0, 0, g.rng.IntN(400)).Truncate(24 * time.Hour))
	case "DROPDOWN":
		return g.pick(d.Options)
	case "MULTISELECT":
		var picked []string
		for _, o := range d.Options {
			if g.chance(0.4) {
				picked = append(picked, o)
			}
		}
		if len(picked) == 0 {
			return nil
		}
		return strings.Join(picked, ";")
	default:
		if strings.HasPrefix(d.Name, "Color") {
			return g.pick(colors)
		}
		return g.pick(hobbies)
	}
}

func (g *generator) customFields(defs []CustomField) []any {
	out := []any{}
	for _, d := range defs {
		out = append(out, map[string]any{"FIELD_NAME": d.Name, "FIELD_VALUE": g.customValue(d)})
	}
	return out
}

// body makes the content of a new record of o, as a client would POST it.
// refs supplies IDs of existing users and organisations to link to.
func (g *generator) body(a *account, o *object, refs refs) map[string]any {
	user := refs.user(g)
	place := places[g.rng.IntN(len(places))]
	first, last := g.pick(firstNames), g.pick(lastNames)
	email := strings.ToLower(strings.ReplaceAll(first+"."+last, " ", "")) + "@" + g.pick(domains)
	b := map[string]any{}
	switch o.Name {
	case "Contacts":
		b = map[string]any{"SALUTATION": g.maybe(0.6, g.pick([]string{"Mr", "Ms", "Mrs", "Dr"})),
			"FIRST_NAME": first, "LAST_NAME": last, "EMAIL_ADDRESS": email, "PHONE": g.maybe(0.7, g.phone()),
			"PHONE_MOBILE": g.maybe(0.4, g.phone()), "TITLE": g.maybe(0.7, g.pick(titles)),
			"BACKGROUND":          g.maybe(0.2, "Met at "+g.pick(eventWords)+"."),
			"ADDRESS_MAIL_STREET": g.maybe(0.5, g.street()), "ADDRESS_MAIL_CITY": place.city,
			"ADDRESS_MAIL_POSTCODE": place.postcode, "ADDRESS_MAIL_COUNTRY": place.country,
			"EMAIL_OPTED_OUT": g.chance(0.1), "OWNER_USER_ID": user, "TAGS": g.tags(),
			"CUSTOMFIELDS": g.customFields(a.customFields[o.Name])}
		if place.state != "" {
			b["ADDRESS_MAIL_STATE"] = place.state
		}
		if org, ok := refs.org(g); ok {
			b["ORGANISATION_ID"] = org
			b["LINKS"] = []any{map[string]any{"LINK_OBJECT_NAME": "Organisation", "LINK_OBJECT_ID": org}}
		}
		if g.chance(0.1) {
			b["DATES"] = []any{map[string]any{"OCCASION_NAME": "Birthday", "OCCASION_DATE": formatDate(
				time.Date(1960+g.rng.IntN(40), time.Month(1+g.rng.IntN(12)), 1+g.rng.IntN(28), 0, 0, 0, 0, time.UTC)),
				"REPEAT_YEARLY": true, "CREATE_TASK_YEARLY": false}}
		}
	case "Organisations":
		name := g.company()
		domain := strings.ToLower(strings.Fields(name)[0]) + ".example"
		b = map[string]any{"ORGANISATION_NAME": name, "PHONE": g.phone(), "WEBSITE": "https://www." + domain + "/",
			"ADDRESS_BILLING_STREET": g.maybe(0.6, g.street()), "ADDRESS_BILLING_CITY": place.city,
			"ADDRESS_BILLING_POSTCODE": place.postcode, "ADDRESS_BILLING_COUNTRY": place.country,
			"BACKGROUND": g.maybe(0.3, g.pick(industries)+" company."), "OWNER_USER_ID": user, "TAGS": g.tags(),
			"EMAILDOMAINS": []any{map[string]any{"EMAIL_DOMAIN": domain}},
			"CUSTOMFIELDS": g.customFields(a.customFields[o.Name])}
	case "Leads":
		b = map[string]any{"SALUTATION": g.maybe(0.5, g.pick([]string{"Mr", "Ms", "Dr"})), "FIRST_NAME": first,
			"LAST_NAME": last, "EMAIL": email, "PHONE": g.maybe(0.6, g.phone()), "TITLE": g.maybe(0.5, g.pick(titles)),
			"ORGANISATION_NAME": g.maybe(0.7, g.company()), "INDUSTRY": g.maybe(0.6, g.pick(industries)),
			"EMPLOYEE_COUNT": int64(g.rng.IntN(2000)), "LEAD_RATING": g.maybe(0.5, int64(1+g.rng.IntN(5))),
			"LEAD_DESCRIPTION": "", "ADDRESS_CITY": place.city, "ADDRESS_COUNTRY": place.country,
			"CONVERTED": false, "OWNER_USER_ID": user, "RESPONSIBLE_USER_ID": user, "TAGS": g.tags(),
			"LEAD_SOURCE_ID": int64(3794750 + g.rng.IntN(5)), "LEAD_STATUS_ID": int64(3724795 + g.rng.IntN(4))}
	case "Opportunities":
		value := float64(1000 * (1 + g.rng.IntN(100)))
		b = map[string]any{"OPPORTUNITY_NAME": g.pick(dealWords), "OPPORTUNITY_STATE": g.pick([]string{"OPEN", "OPEN", "OPEN", "WON", "LOST"}),
			"BID_CURRENCY": "USD", "BID_AMOUNT": value, "BID_TYPE": "Fixed Bid", "OPPORTUNITY_VALUE": value,
			"PROBABILITY": int64(10 * g.rng.IntN(11)), "RESPONSIBLE_USER_ID": user, "OWNER_USER_ID": user,
			"FORECAST_CLOSE_DATE": formatDate(g.start.AddDate(0, 0, g.rng.IntN(180)).Truncate(24 * time.Hour)),
			"PIPELINE_ID":         int64(555), "STAGE_ID": int64(5551 + g.rng.IntN(4)), "TAGS": g.tags(),
			"CUSTOMFIELDS": g.customFields(a.customFields[o.Name])}
		if org, ok := refs.org(g); ok {
			b["ORGANISATION_ID"] = org
		}
	case "Tasks":
		b = map[string]any{"TITLE": g.pick(taskWords) + " " + first, "STATUS": g.pick([]string{"NOT STARTED", "IN PROGRESS", "COMPLETED"}),
			"PRIORITY": int64(1 + g.rng.IntN(3)), "PERCENT_COMPLETE": int64(25 * g.rng.IntN(5)), "COMPLETED": false,
			"DUE_DATE":            formatDate(g.start.AddDate(0, 0, g.rng.IntN(60)).Truncate(24 * time.Hour)),
			"RESPONSIBLE_USER_ID": user, "OWNER_USER_ID": user}
	case "Events":
		start := g.start.AddDate(0, 0, g.rng.IntN(90)).Truncate(time.Hour)
		b = map[string]any{"TITLE": g.pick(eventWords), "LOCATION": place.city, "START_DATE_UTC": formatDate(start),
			"END_DATE_UTC": formatDate(start.Add(time.Hour)), "ALL_DAY": false, "OWNER_USER_ID": user}
	case "Projects":
		b = map[string]any{"PROJECT_NAME": g.pick(dealWords) + " for " + g.company(), "STATUS": g.pick([]string{"NOT STARTED", "IN PROGRESS", "COMPLETED"}),
			"OWNER_USER_ID": user, "RESPONSIBLE_USER_ID": user, "TAGS": g.tags()}
	case "Notes":
		b = map[string]any{"TITLE": "Call with " + first, "BODY": "<p>Discussed " + strings.ToLower(g.pick(dealWords)) + ".</p>", "OWNER_USER_ID": user}
	case "ActivitySets":
		b = map[string]any{"NAME": g.pick([]string{"Onboarding", "Renewal", "Escalation"}), "FOR_CONTACTS": true, "FOR_OPPORTUNITIES": true, "OWNER_USER_ID": user}
	case "Pipelines":
		b = map[string]any{"PIPELINE_NAME": g.pick([]string{"Sales", "Delivery"}), "FOR_OPPORTUNITIES": true, "FOR_PROJECTS": false, "OWNER_USER_ID": user}
	case "Ticket":
		b = map[string]any{"SUBJECT": "Cannot log in", "TICKET_STATUS": "Open", "PRIORITY": "Normal", "OWNER_USER_ID": user}
	case "Prospect":
		b = map[string]any{"FIRST_NAME": first, "LAST_NAME": last, "EMAIL_ADDRESS": email, "OWNER_USER_ID": user}
	case "Product":
		b = map[string]any{"PRODUCT_NAME": g.pick(dealWords), "DEFAULT_PRICE": float64(100 * (1 + g.rng.IntN(50))), "ACTIVE": true, "OWNER_USER_ID": user}
	default: // custom objects
		b = map[string]any{"RECORD_NAME": g.pick(fruits), "OWNER_USER_ID": user,
			"CUSTOMFIELDS": g.customFields(a.customFields[o.Name])}
	}
	return b
}

// patch makes a realistic edit of rec: one to three fields change.
func (g *generator) patch(a *account, o *object, rec record, refs refs) map[string]any {
	fresh := g.body(a, o, refs)
	var candidates []string
	for k := range fresh {
		if k != "OWNER_USER_ID" && k != "LINKS" && k != "EMAILDOMAINS" && k != "DATES" {
			candidates = append(candidates, k)
		}
	}
	slices.Sort(candidates) // map order is random; the seed must decide
	p := map[string]any{o.PK: rec[o.PK]}
	for range 1 + g.rng.IntN(3) {
		k := candidates[g.rng.IntN(len(candidates))]
		p[k] = fresh[k]
	}
	return p
}

// refs picks IDs of existing records to reference.
type refs struct {
	users []int64
	orgs  *collection
}

func (r refs) user(g *generator) int64 { return r.users[g.rng.IntN(len(r.users))] }

func (r refs) org(g *generator) (int64, bool) {
	if r.orgs == nil || len(r.orgs.ids) == 0 || g.chance(0.2) {
		return 0, false
	}
	for range 5 {
		id := r.orgs.ids[g.rng.IntN(len(r.orgs.ids))]
		if r.orgs.latest(id) != nil {
			return id, true
		}
	}
	return 0, false
}

var accountNames = []string{"Acme Ltd", "Globex Corporation", "Initech", "Umbrella Pty", "Stark Industries", "Wayne Enterprises", "Hooli", "Vandelay Industries"}

// firstIDs are where each object's IDs start, shaped like real ones.
var firstIDs = map[string]int64{
	"Contacts": 366638973, "Organisations": 90622173, "Leads": 78563840, "Opportunities": 41234567,
	"Tasks": 51200311, "Events": 23400977, "Projects": 6100021, "Notes": 171000409, "Users": 2240727,
	"ActivitySets": 1500001, "Pipelines": 555, "Ticket": 8800012, "Prospect": 9100003, "Product": 3300007,
	"Fruit__c": 54840676,
}

// seedPlan is how many records each object starts with, per Config.Records.
func seedCount(name string, records int) int {
	switch name {
	case "Contacts", "Organisations", "Leads", "Opportunities":
		return records
	case "Tasks", "Events", "Projects", "Notes":
		return records / 4
	case "Fruit__c", "Ticket", "Prospect", "Product":
		return records / 10
	case "ActivitySets", "Pipelines":
		return min(records, 2)
	}
	return 0
}

// subdomain derives an account's subdomain from its name: "Acme Ltd 2" → "acme2".
func subdomain(name string) string {
	words := strings.Fields(strings.ToLower(name))
	sub := words[0]
	if last := words[len(words)-1]; len(words) > 1 && last[0] >= '0' && last[0] <= '9' {
		sub += last
	}
	return sub
}

// newAccount creates account i with its users, objects and seeded records.
func (s *Sim) newAccount(g *generator, i int) *account {
	name := accountNames[i%len(accountNames)]
	if i >= len(accountNames) {
		name = fmt.Sprintf("%s %d", name, i/len(accountNames)+1)
	}
	a := &account{
		id:           int64(800417 + 7919*i),
		name:         name,
		subdomain:    subdomain(name),
		plan:         s.cfg.Plan,
		objects:      map[string]*object{},
		colls:        map[string]*collection{},
		customFields: defaultCustomFields,
		gated:        plans[s.cfg.Plan].gated,
		subID:        int64(6047314 + 100000*i),
	}
	a.limiter = newLimiter(s.cfg, a.plan)
	offset := int64(i) * 10_000_000
	for _, o := range builtinObjects {
		a.addObject(o, firstIDs[o.Name]+offset)
	}
	a.addObject(newCustomObject("Fruit__c", "Fruit"), firstIDs["Fruit__c"]+offset)

	// Users: the first is the account owner and an administrator.
	users := a.coll("Users")
	times := g.pastTimes(s.cfg.Users)
	for j := range s.cfg.Users {
		id := users.allocID(13)
		first, last := g.pick(firstNames), g.pick(lastNames)
		rec := record{"USER_ID": id, "CONTACT_ID": nil, "FIRST_NAME": first, "LAST_NAME": last,
			"TIMEZONE_ID":              g.pick([]string{"GMT Standard Time", "W. Europe Standard Time", "Mountain Standard Time"}),
			"EMAIL_ADDRESS":            strings.ToLower(first+"."+last) + "@" + a.subdomain + ".example",
			"EMAIL_DROPBOX_IDENTIFIER": fmt.Sprintf("%s-U%d", a.subdomain, id),
			"EMAIL_DROPBOX_ADDRESS":    fmt.Sprintf("dropbox-%d@mailbox.insight.ly", id),
			"ADMINISTRATOR":            j == 0, "ACCOUNT_OWNER": j == 0, "ACTIVE": true,
			"DATE_CREATED_UTC": formatDate(times[j]), "DATE_UPDATED_UTC": formatDate(times[j]),
			"USER_CURRENCY": "USD", "CONTACT_DISPLAY": "LastFirst", "CONTACT_ORDER": "LastFirst",
			"TASK_WEEK_START": int64(1), "INSTANCE_ID": a.id, "PROFILE_ID": nil, "ROLE_ID": nil}
		users.put(id, rec, time.Time{}, s.now())
		u := &user{id: id, keys: []string{g.guid()}}
		a.users = append(a.users, u)
		s.keys[u.keys[0]] = keyOwner{acct: a, user: u}
	}

	userIDs := make([]int64, len(a.users))
	for j, u := range a.users {
		userIDs[j] = u.id
	}
	r := refs{users: userIDs, orgs: a.coll("Organisations")}
	// Organisations first: contacts and opportunities link to them.
	for _, name := range []string{"Organisations", "Contacts", "Leads", "Opportunities", "Tasks", "Events",
		"Projects", "Notes", "ActivitySets", "Pipelines", "Ticket", "Prospect", "Product", "Fruit__c"} {
		o := a.lookup(name)
		c := a.coll(name)
		for _, created := range g.pastTimes(seedCount(name, s.cfg.Records)) {
			rec, err := a.merge(o, nil, g.body(a, o, r), userIDs[0])
			if err != nil {
				panic("insightly sim: generated an invalid " + name + ": " + err.Error())
			}
			id := c.allocID(1 + g.rng.Int64N(7))
			s.stamp(a, o, rec, id, created, g.updatedAfter(created))
			c.put(id, rec, time.Time{}, s.now())
		}
	}
	return a
}
