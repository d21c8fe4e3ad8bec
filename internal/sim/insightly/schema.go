package insightly

import (
	"fmt"
	"strings"
)

// kind is the JSON type of a field as Insightly returns it.
type kind byte

const (
	kindInt    kind = 'i' // 64-bit integer (IDs, counts)
	kindString kind = 's'
	kindDate   kind = 'd' // "yyyy-MM-dd HH:mm:ss" UTC, or null
	kindBool   kind = 'b'
	kindNumber kind = 'n' // JSON number that may carry a fraction
	kindArray  kind = 'a' // CUSTOMFIELDS, TAGS, DATES, LINKS, EMAILDOMAINS
)

// field is one top-level key of a record.
type field struct {
	Name string
	Kind kind
}

// verb is one operation a collection supports at its top level.
type verb uint16

const (
	verbList verb = 1 << iota
	verbGet
	verbSearch
	verbSearchByTag
	verbCreate
	verbUpdate
	verbDelete
	verbChildNotes // POST/GET /{Obj}/{id}/Notes

	verbsRead = verbList | verbGet | verbSearch
	verbsCRUD = verbsRead | verbCreate | verbUpdate | verbDelete
)

// object describes one Insightly collection: its path, key and the exact
// field order Insightly serialises, which the simulator reproduces so that
// recorded fixtures round-trip byte for byte.
type object struct {
	Name     string // collection path segment, e.g. "Contacts", "Ticket", "Fruit__c"
	Singular string // as in LINKS ("Contact") and upper-cased in CUSTOMFIELDS FIELD_FOR
	PK       string
	Fields   []field
	Verbs    verb
	Required []string // at least one of these must be non-empty on create
	Enums    map[string][]string
	Custom   bool // a custom object: /{Name__c}
	index    map[string]int
}

func (o *object) has(v verb) bool { return o.Verbs&v != 0 }

func (o *object) field(name string) (field, bool) {
	i, ok := o.index[name]
	if !ok {
		return field{}, false
	}
	return o.Fields[i], true
}

// hasUpdated tells whether records carry DATE_UPDATED_UTC, which every
// write bumps and /Search's updated_after_utc filters on.
func (o *object) hasUpdated() bool {
	_, ok := o.index["DATE_UPDATED_UTC"]
	return ok
}

// readOnly fields are set by the server and ignored in request bodies, as
// the ASP.NET model binder of the real API does.
var readOnly = map[string]bool{
	"DATE_CREATED_UTC":     true,
	"DATE_UPDATED_UTC":     true,
	"CREATED_USER_ID":      true,
	"LINKED_EMAIL_ADDRESS": true,
}

// parseFields turns "NAME:k NAME:k …" into fields; the compact form keeps
// the tables below readable next to spec §8.
func parseFields(spec string) []field {
	var out []field
	for _, tok := range strings.Fields(spec) {
		name, k, ok := strings.Cut(tok, ":")
		if !ok || len(k) != 1 || !strings.Contains("isdbna", k) {
			panic(fmt.Sprintf("insightly schema: bad field %q", tok))
		}
		out = append(out, field{Name: name, Kind: kind(k[0])})
	}
	return out
}

func newObject(o object, spec string) *object {
	o.Fields = parseFields(spec)
	o.index = make(map[string]int, len(o.Fields))
	for i, f := range o.Fields {
		o.index[f.Name] = i
	}
	if _, ok := o.index[o.PK]; !ok {
		panic("insightly schema: " + o.Name + " lacks its key " + o.PK)
	}
	return &o
}

var visibleTo = []string{"EVERYONE", "OWNER", "TEAM", "INDIVIDUAL"}

// The field lists and their order follow spec §8 (recorded fixtures where
// they exist, the v3.1 swagger-derived schemas otherwise).
var builtinObjects = []*object{
	newObject(object{Name: "Contacts", Singular: "Contact", PK: "CONTACT_ID",
		Verbs: verbsCRUD | verbSearchByTag | verbChildNotes, Required: []string{"FIRST_NAME", "LAST_NAME"},
		Enums: map[string][]string{"VISIBLE_TO": visibleTo}},
		`CONTACT_ID:i SALUTATION:s FIRST_NAME:s LAST_NAME:s IMAGE_URL:s BACKGROUND:s VISIBLE_TO:s
		OWNER_USER_ID:i VISIBLE_TEAM_ID:i DATE_CREATED_UTC:d DATE_UPDATED_UTC:d SOCIAL_LINKEDIN:s
		SOCIAL_FACEBOOK:s SOCIAL_TWITTER:s DATE_OF_BIRTH:d PHONE:s PHONE_HOME:s PHONE_MOBILE:s
		PHONE_OTHER:s PHONE_ASSISTANT:s PHONE_FAX:s EMAIL_ADDRESS:s ASSISTANT_NAME:s
		ADDRESS_MAIL_STREET:s ADDRESS_MAIL_CITY:s ADDRESS_MAIL_STATE:s ADDRESS_MAIL_POSTCODE:s
		ADDRESS_MAIL_COUNTRY:s ADDRESS_OTHER_STREET:s ADDRESS_OTHER_CITY:s ADDRESS_OTHER_STATE:s
		ADDRESS_OTHER_POSTCODE:s ADDRESS_OTHER_COUNTRY:s LAST_ACTIVITY_DATE_UTC:d
		NEXT_ACTIVITY_DATE_UTC:d CREATED_USER_ID:i ORGANISATION_ID:i TITLE:s EMAIL_OPTED_OUT:b
		CUSTOMFIELDS:a TAGS:a DATES:a LINKS:a`),
	newObject(object{Name: "Organisations", Singular: "Organisation", PK: "ORGANISATION_ID",
		Verbs: verbsCRUD | verbSearchByTag | verbChildNotes, Required: []string{"ORGANISATION_NAME"},
		Enums: map[string][]string{"VISIBLE_TO": visibleTo}},
		`ORGANISATION_ID:i ORGANISATION_NAME:s BACKGROUND:s IMAGE_URL:s OWNER_USER_ID:i VISIBLE_TO:s
		VISIBLE_TEAM_ID:i DATE_CREATED_UTC:d DATE_UPDATED_UTC:d LAST_ACTIVITY_DATE_UTC:d
		NEXT_ACTIVITY_DATE_UTC:d CREATED_USER_ID:i PHONE:s PHONE_FAX:s WEBSITE:s
		ADDRESS_BILLING_STREET:s ADDRESS_BILLING_CITY:s ADDRESS_BILLING_STATE:s
		ADDRESS_BILLING_COUNTRY:s ADDRESS_BILLING_POSTCODE:s ADDRESS_SHIP_STREET:s
		ADDRESS_SHIP_CITY:s ADDRESS_SHIP_STATE:s ADDRESS_SHIP_POSTCODE:s ADDRESS_SHIP_COUNTRY:s
		SOCIAL_LINKEDIN:s SOCIAL_FACEBOOK:s SOCIAL_TWITTER:s
		CUSTOMFIELDS:a TAGS:a DATES:a EMAILDOMAINS:a LINKS:a`),
	newObject(object{Name: "Leads", Singular: "Lead", PK: "LEAD_ID",
		Verbs: verbsCRUD | verbSearchByTag | verbChildNotes, Required: []string{"LAST_NAME"},
		Enums: map[string][]string{"VISIBLE_TO": visibleTo}},
		`LEAD_ID:i SALUTATION:s FIRST_NAME:s LAST_NAME:s LEAD_SOURCE_ID:i LEAD_STATUS_ID:i TITLE:s
		CONVERTED:b CONVERTED_CONTACT_ID:i CONVERTED_DATE_UTC:d CONVERTED_OPPORTUNITY_ID:i
		CONVERTED_ORGANISATION_ID:i DATE_CREATED_UTC:d DATE_UPDATED_UTC:d EMAIL:s EMPLOYEE_COUNT:i
		FAX:s INDUSTRY:s LEAD_DESCRIPTION:s LEAD_RATING:i MOBILE:s OWNER_USER_ID:i PHONE:s
		RESPONSIBLE_USER_ID:i WEBSITE:s ADDRESS_STREET:s ADDRESS_CITY:s ADDRESS_STATE:s
		ADDRESS_POSTCODE:s ADDRESS_COUNTRY:s LAST_ACTIVITY_DATE_UTC:d NEXT_ACTIVITY_DATE_UTC:d
		VISIBLE_TO:s VISIBLE_TEAM_ID:i ORGANISATION_NAME:s CREATED_USER_ID:i IMAGE_URL:s
		EMAIL_OPTED_OUT:b CUSTOMFIELDS:a TAGS:a LINKS:a LINKED_EMAIL_ADDRESS:s`),
	newObject(object{Name: "Opportunities", Singular: "Opportunity", PK: "OPPORTUNITY_ID",
		Verbs: verbsCRUD | verbSearchByTag | verbChildNotes, Required: []string{"OPPORTUNITY_NAME"},
		Enums: map[string][]string{"VISIBLE_TO": visibleTo,
			"OPPORTUNITY_STATE": {"OPEN", "WON", "LOST", "ABANDONED", "SUSPENDED"}}},
		`OPPORTUNITY_ID:i OPPORTUNITY_NAME:s OPPORTUNITY_DETAILS:s OPPORTUNITY_STATE:s
		RESPONSIBLE_USER_ID:i CATEGORY_ID:i IMAGE_URL:s BID_CURRENCY:s BID_AMOUNT:n BID_TYPE:s
		BID_DURATION:i ACTUAL_CLOSE_DATE:d DATE_CREATED_UTC:d DATE_UPDATED_UTC:d
		OPPORTUNITY_VALUE:n PROBABILITY:i FORECAST_CLOSE_DATE:d OWNER_USER_ID:i
		LAST_ACTIVITY_DATE_UTC:d NEXT_ACTIVITY_DATE_UTC:d PIPELINE_ID:i STAGE_ID:i
		CREATED_USER_ID:i ORGANISATION_ID:i PRICEBOOK_ID:i VISIBLE_TO:s VISIBLE_TEAM_ID:i
		CUSTOMFIELDS:a TAGS:a LINKS:a LINKED_EMAIL_ADDRESS:s`),
	newObject(object{Name: "Tasks", Singular: "Task", PK: "TASK_ID",
		Verbs: verbsCRUD, Required: []string{"TITLE"},
		Enums: map[string][]string{"STATUS": {"NOT STARTED", "IN PROGRESS", "COMPLETED", "DEFERRED", "WAITING"}}},
		`TASK_ID:i TITLE:s CATEGORY_ID:i DUE_DATE:d COMPLETED_DATE_UTC:d COMPLETED:b DETAILS:s
		STATUS:s PRIORITY:i PERCENT_COMPLETE:i START_DATE:d MILESTONE_ID:i RESPONSIBLE_USER_ID:i
		OWNER_USER_ID:i DATE_CREATED_UTC:d DATE_UPDATED_UTC:d EMAIL_ID:i PROJECT_ID:i
		REMINDER_DATE_UTC:d REMINDER_SENT:b OWNER_VISIBLE:b STAGE_ID:i ASSIGNED_BY_USER_ID:i
		PARENT_TASK_ID:i RECURRENCE:s OPPORTUNITY_ID:i ASSIGNED_TEAM_ID:i ASSIGNED_DATE_UTC:d
		CREATED_USER_ID:i CUSTOMFIELDS:a LINKS:a`),
	newObject(object{Name: "Events", Singular: "Event", PK: "EVENT_ID",
		Verbs: verbsCRUD, Required: []string{"TITLE"}},
		`EVENT_ID:i TITLE:s LOCATION:s START_DATE_UTC:d END_DATE_UTC:d ALL_DAY:b DETAILS:s
		DATE_CREATED_UTC:d DATE_UPDATED_UTC:d REMINDER_DATE_UTC:d REMINDER_SENT:b OWNER_USER_ID:i
		CUSTOMFIELDS:a LINKS:a`),
	newObject(object{Name: "Projects", Singular: "Project", PK: "PROJECT_ID",
		Verbs: verbsCRUD | verbSearchByTag | verbChildNotes, Required: []string{"PROJECT_NAME"},
		Enums: map[string][]string{"VISIBLE_TO": visibleTo,
			"STATUS": {"NOT STARTED", "IN PROGRESS", "DEFERRED", "CANCELLED", "ABANDONED", "COMPLETED"}}},
		`PROJECT_ID:i PROJECT_NAME:s STATUS:s PROJECT_DETAILS:s STARTED_DATE:d COMPLETED_DATE:d
		OPPORTUNITY_ID:i CATEGORY_ID:i PIPELINE_ID:i STAGE_ID:i IMAGE_URL:s OWNER_USER_ID:i
		DATE_CREATED_UTC:d DATE_UPDATED_UTC:d LAST_ACTIVITY_DATE_UTC:d NEXT_ACTIVITY_DATE_UTC:d
		CREATED_USER_ID:i RESPONSIBLE_USER_ID:i VISIBLE_TO:s VISIBLE_TEAM_ID:i
		LINKED_EMAIL_ADDRESS:s CUSTOMFIELDS:a TAGS:a LINKS:a`),
	// Notes have no top-level POST: they are created under a parent record.
	newObject(object{Name: "Notes", Singular: "Note", PK: "NOTE_ID",
		Verbs: verbsRead | verbUpdate | verbDelete, Required: []string{"TITLE"}},
		`NOTE_ID:i TITLE:s BODY:s DATE_CREATED_UTC:d DATE_UPDATED_UTC:d OWNER_USER_ID:i LINKS:a`),
	newObject(object{Name: "Users", Singular: "User", PK: "USER_ID", Verbs: verbsRead},
		`USER_ID:i CONTACT_ID:i FIRST_NAME:s LAST_NAME:s TIMEZONE_ID:s EMAIL_ADDRESS:s
		EMAIL_DROPBOX_IDENTIFIER:s EMAIL_DROPBOX_ADDRESS:s ADMINISTRATOR:b ACCOUNT_OWNER:b ACTIVE:b
		DATE_CREATED_UTC:d DATE_UPDATED_UTC:d USER_CURRENCY:s CONTACT_DISPLAY:s CONTACT_ORDER:s
		TASK_WEEK_START:i INSTANCE_ID:i PROFILE_ID:i ROLE_ID:i`),
	// Activity sets have no timestamps and no /Search (Cloud Elements' "activities").
	newObject(object{Name: "ActivitySets", Singular: "ActivitySet", PK: "ACTIVITYSET_ID",
		Verbs: verbList | verbGet},
		`ACTIVITYSET_ID:i NAME:s FOR_CONTACTS:b FOR_ORGANISATIONS:b FOR_OPPORTUNITIES:b
		FOR_PROJECTS:b FOR_LEADS:b OWNER_USER_ID:i ACTIVITIES:a`),
	newObject(object{Name: "Pipelines", Singular: "Pipeline", PK: "PIPELINE_ID",
		Verbs: verbList | verbGet},
		`PIPELINE_ID:i PIPELINE_NAME:s FOR_OPPORTUNITIES:b FOR_PROJECTS:b OWNER_USER_ID:i`),
	// Singular collection names are the real ones; the plurals answer 405.
	newObject(object{Name: "Ticket", Singular: "Ticket", PK: "TICKET_ID",
		Verbs: verbsCRUD | verbSearchByTag, Required: []string{"SUBJECT"}},
		`TICKET_ID:i TICKET_NUMBER:s SUBJECT:s TICKET_STATUS:s TICKET_TYPE:s PRIORITY:s SOURCE:s
		CONTACT_ID:i ORGANISATION_ID:i BRAND_ID:i TO_EMAIL_ADDRESS:s TicketCommentBodyHtml:s
		DATE_CLOSED_UTC:d DATE_SOLVED_UTC:d OWNER_USER_ID:i CREATED_USER_ID:i DATE_CREATED_UTC:d
		DATE_UPDATED_UTC:d CUSTOMFIELDS:a TAGS:a`),
	newObject(object{Name: "Prospect", Singular: "Prospect", PK: "PROSPECT_ID",
		Verbs: verbsCRUD | verbSearchByTag, Required: []string{"LAST_NAME"}},
		`PROSPECT_ID:i FIRST_NAME:s LAST_NAME:s EMAIL_ADDRESS:s ORGANISATION_NAME:s TITLE:s
		OWNER_USER_ID:i CREATED_USER_ID:i DATE_CREATED_UTC:d DATE_UPDATED_UTC:d CUSTOMFIELDS:a TAGS:a`),
	newObject(object{Name: "Product", Singular: "Product", PK: "PRODUCT_ID",
		Verbs: verbsCRUD, Required: []string{"PRODUCT_NAME"}},
		`PRODUCT_ID:i PRODUCT_NAME:s PRODUCT_CODE:s PRODUCT_SKU:s DESCRIPTION:s PRODUCT_FAMILY:s
		PRODUCT_IMAGE_URL:s CURRENCY_CODE:s DEFAULT_PRICE:n ACTIVE:b OWNER_USER_ID:i
		CREATED_USER_ID:i DATE_CREATED_UTC:d DATE_UPDATED_UTC:d CUSTOMFIELDS:a`),
}

// misnamedPlurals are plural spellings of singular collections; Insightly
// answers them with 405 rather than 404 (spec §4.2).
var misnamedPlurals = map[string]bool{
	"tickets": true, "products": true, "prospects": true, "pricebooks": true,
	"quotations": true, "quotes": true, "knowledgearticles": true,
}

// customObjectFields is the shape of every custom object record (spec §8.5).
const customObjectFields = `RECORD_ID:i RECORD_NAME:s OWNER_USER_ID:i DATE_CREATED_UTC:d
	DATE_UPDATED_UTC:d CREATED_USER_ID:i VISIBLE_TO:s VISIBLE_TEAM_ID:i CUSTOMFIELDS:a`

// newCustomObject defines a custom object collection such as Fruit__c.
func newCustomObject(name, singular string) *object {
	return newObject(object{Name: name, Singular: singular, PK: "RECORD_ID", Custom: true,
		Verbs: verbsCRUD, Required: []string{"RECORD_NAME"},
		Enums: map[string][]string{"VISIBLE_TO": visibleTo}}, customObjectFields)
}

// CustomField defines one custom field of an object, as returned by
// GET /CustomFields/{object}.
type CustomField struct {
	Name    string   // e.g. "Hobby__c"
	Label   string   // e.g. "Hobby"
	Type    string   // TEXT, MULTILINETEXT, DROPDOWN, MULTISELECT, BIT, NUMERIC, PERCENT, DATE, DATETIME
	Options []string // DROPDOWN and MULTISELECT choices
}

// defaultCustomFields are the custom fields every simulated account has; the
// Contacts ones are those of the recorded fixture in spec §8.1.
var defaultCustomFields = map[string][]CustomField{
	"Contacts": {
		{Name: "Hobby__c", Label: "Hobby", Type: "TEXT"},
		{Name: "Interests__c", Label: "Interests", Type: "MULTISELECT", Options: []string{"Art", "Music", "Sports", "Travel", "Cooking"}},
		{Name: "Newsletter_Subscription__c", Label: "Newsletter Subscription", Type: "BIT"},
		{Name: "Preferred_Contact_Method__c", Label: "Preferred Contact Method", Type: "DROPDOWN", Options: []string{"Email", "Phone", "SMS"}},
	},
	"Organisations": {
		{Name: "Segment__c", Label: "Segment", Type: "DROPDOWN", Options: []string{"SMB", "Mid-market", "Enterprise"}},
		{Name: "Employees__c", Label: "Employees", Type: "NUMERIC"},
	},
	"Opportunities": {
		{Name: "Renewal_Date__c", Label: "Renewal Date", Type: "DATE"},
		{Name: "Discount__c", Label: "Discount", Type: "PERCENT"},
	},
	"Fruit__c": {
		{Name: "Color__c", Label: "Color", Type: "TEXT"},
		{Name: "Weight__c", Label: "Weight", Type: "NUMERIC"},
	},
}
