package instance

import (
	"context"
	"slices"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// View is an instance as the API answers it: the shape of Cloud Elements'
// POST /instances response (spec §2.2), secrets masked.
type View struct {
	ID                     int64             `json:"id"`
	Name                   string            `json:"name"`
	CreatedDate            string            `json:"createdDate"`
	UpdatedDate            string            `json:"updatedDate"`
	Token                  string            `json:"token"`
	Element                ElementView       `json:"element"`
	ElementID              int64             `json:"elementId"`
	Tags                   []string          `json:"tags"`
	ProvisionInteractions  []any             `json:"provisionInteractions"`
	Valid                  bool              `json:"valid"`
	Disabled               bool              `json:"disabled"`
	MaxCacheSize           int               `json:"maxCacheSize"`
	CacheTimeToLive        int               `json:"cacheTimeToLive"`
	Configuration          map[string]string `json:"configuration"`
	EventsEnabled          bool              `json:"eventsEnabled"`
	TraceLoggingEnabled    bool              `json:"traceLoggingEnabled"`
	CachingEnabled         bool              `json:"cachingEnabled"`
	ExternalAuthentication string            `json:"externalAuthentication"`
	User                   UserView          `json:"user"`
}

// ElementView is the element inside an instance.
type ElementView struct {
	ID                     int64          `json:"id"`
	Name                   string         `json:"name"`
	Key                    string         `json:"key"`
	Description            string         `json:"description"`
	Image                  string         `json:"image"`
	Active                 bool           `json:"active"`
	Deleted                bool           `json:"deleted"`
	TypeOauth              bool           `json:"typeOauth"`
	TrialAccount           bool           `json:"trialAccount"`
	Resources              []any          `json:"resources"`
	TransformationsEnabled bool           `json:"transformationsEnabled"`
	BulkDownloadEnabled    bool           `json:"bulkDownloadEnabled"`
	BulkUploadEnabled      bool           `json:"bulkUploadEnabled"`
	Cloneable              bool           `json:"cloneable"`
	Extendable             bool           `json:"extendable"`
	Beta                   bool           `json:"beta"`
	Authentication         map[string]any `json:"authentication"`
	Extended               bool           `json:"extended"`
	Hub                    string         `json:"hub"`
	ProtocolType           string         `json:"protocolType"`
	Parameters             []any          `json:"parameters"`
}

// UserView is the instance's owner.
type UserView struct {
	ID           int64  `json:"id"`
	EmailAddress string `json:"emailAddress"`
	FirstName    string `json:"firstName"`
	LastName     string `json:"lastName"`
}

func (s *Service) view(ctx context.Context, in *store.Instance) (*View, error) {
	return s.viewWith(ctx, in, nil)
}

// viewWith is view with the users already read, by ID (nil: none); a
// user it reads is added, so that a list reads each user once.
func (s *Service) viewWith(ctx context.Context, in *store.Instance, users map[int64]*store.User) (*View, error) {
	el, err := s.elementOf(in)
	if err != nil {
		return nil, err
	}
	token, err := s.Keys.Open(in.TokenSealed, tokenContext)
	if err != nil {
		return nil, err
	}
	u := users[in.UserID]
	if u == nil {
		if u, err = s.Store.UserByID(ctx, in.UserID); err != nil {
			return nil, err
		}
		if users != nil {
			users[in.UserID] = u
		}
	}
	info := el.Info()
	cfg := map[string]string{}
	for _, c := range in.Config {
		cfg[c.Key] = c.Value
		if c.Secret || isSecret(el, c.Key) {
			cfg[c.Key] = Mask
		}
	}
	tags := in.Tags
	if tags == nil {
		tags = []string{}
	}
	return &View{
		ID: in.ID, Name: in.Name, Token: token, ElementID: info.ID, Tags: slices.Clone(tags),
		CreatedDate: in.CreatedAt.UTC().Format(time.RFC3339), UpdatedDate: in.UpdatedAt.UTC().Format(time.RFC3339),
		Element: ElementView{ID: info.ID, Name: info.Name, Key: info.Key, Description: info.Description, Image: info.Image,
			Active: true, Resources: []any{}, Cloneable: false, Authentication: map[string]any{"type": info.AuthType},
			Hub: info.Hub, ProtocolType: "http", Parameters: []any{}},
		ProvisionInteractions: []any{}, Valid: in.Valid, Disabled: in.Disabled, Configuration: cfg,
		EventsEnabled: in.EventsEnabled, ExternalAuthentication: "none",
		User: UserView{ID: u.ID, EmailAddress: u.Email, FirstName: u.FirstName, LastName: u.LastName},
	}, nil
}

func sortStrings(s []string) []string {
	slices.Sort(s)
	return s
}
