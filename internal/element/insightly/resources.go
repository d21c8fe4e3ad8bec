package insightly

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/pollhook/pollhook/internal/element"
)

// resource is a hub resource mapped onto an Insightly collection.
type resource struct {
	name     string // as the client named it: "accounts"
	object   string // Insightly collection: "Organisations"
	pk       string // its key field: "ORGANISATION_ID"
	readOnly bool
	me       bool // the current user (GET only)
}

// hubResources are the Cloud Elements CRM hub's names for Insightly
// objects (spec §5.3); any other name is an Insightly collection as is.
var hubResources = map[string]resource{
	"accounts":      {object: "Organisations", pk: "ORGANISATION_ID"},
	"contacts":      {object: "Contacts", pk: "CONTACT_ID"},
	"leads":         {object: "Leads", pk: "LEAD_ID"},
	"opportunities": {object: "Opportunities", pk: "OPPORTUNITY_ID"},
	"users":         {object: "Users", pk: "USER_ID", readOnly: true},
	"activities":    {object: "ActivitySets", pk: "ACTIVITYSET_ID", readOnly: true},
	"me":            {object: "Users/Me", pk: "USER_ID", readOnly: true, me: true},
}

// keyFields are the primary keys of Insightly's collections (spec §4),
// by lower-cased collection name.
var keyFields = map[string]string{
	"contacts": "CONTACT_ID", "organisations": "ORGANISATION_ID", "leads": "LEAD_ID",
	"opportunities": "OPPORTUNITY_ID", "tasks": "TASK_ID", "events": "EVENT_ID", "projects": "PROJECT_ID",
	"notes": "NOTE_ID", "emails": "EMAIL_ID", "milestones": "MILESTONE_ID", "users": "USER_ID",
	"pipelines": "PIPELINE_ID", "pipelinestages": "STAGE_ID", "product": "PRODUCT_ID",
	"pricebook": "PRICEBOOK_ID", "pricebookentry": "PRICEBOOK_ENTRY_ID", "quotation": "QUOTE_ID",
	"quotationlineitem": "QUOTATION_ITEM_ID", "opportunitylineitem": "OPPORTUNITY_ITEM_ID",
	"ticket": "TICKET_ID", "prospect": "PROSPECT_ID", "knowledgearticle": "ARTICLE_ID",
	"knowledgearticlecategory": "CATEGORY_ID", "knowledgearticlefolder": "FOLDER_ID",
	"activitysets": "ACTIVITYSET_ID", "leadsources": "LEAD_SOURCE_ID", "leadstatuses": "LEAD_STATUS_ID",
	"opportunitycategories": "CATEGORY_ID", "projectcategories": "CATEGORY_ID", "taskcategories": "CATEGORY_ID",
	"filecategories": "CATEGORY_ID", "teams": "TEAM_ID", "relationships": "RELATIONSHIP_ID",
	"opportunitystatereasons": "STATE_REASON_ID",
}

var objectName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,99}$`)

// resolve maps a hub resource name to its Insightly collection. Unknown
// names pass through as collection names (custom objects like Fruit__c
// too), checked only for shape: whether Insightly has them, it says.
func resolve(name string) (resource, error) {
	if r, ok := hubResources[strings.ToLower(name)]; ok {
		r.name = name
		return r, nil
	}
	if !objectName.MatchString(name) {
		return resource{}, element.Errorf(http.StatusBadRequest, "resource %q is not an Insightly object name", name)
	}
	return resource{name: name, object: name, pk: keyField(name)}, nil
}

// keyField is the primary key of a collection: custom objects use
// RECORD_ID; unknown collections guess the singular upper-cased + _ID.
func keyField(object string) string {
	lower := strings.ToLower(object)
	if strings.HasSuffix(lower, "__c") {
		return "RECORD_ID"
	}
	if pk, ok := keyFields[lower]; ok {
		return pk
	}
	singular := strings.TrimSuffix(object, "s")
	if strings.HasSuffix(lower, "ies") {
		singular = object[:len(object)-3] + "y"
	}
	return strings.ToUpper(singular) + "_ID"
}
