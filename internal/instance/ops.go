package instance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/seal"
	"github.com/pollhook/pollhook/internal/store"
)

const tokenContext = "instance-token"

func configContext(key string) string { return "config:" + key }

// element resolves the element of a new instance: from the path
// (POST /elements/{key}/instances) or the body's element.key or element.id.
func (s *Service) element(pathKey string, ref *elementRef) (element.Element, error) {
	key := pathKey
	if ref != nil {
		bodyKey := ref.Key
		if bodyKey == "" && len(ref.ID) > 0 {
			id := strings.Trim(string(ref.ID), `"`)
			for _, k := range s.Elements.Keys() {
				el, _ := s.Elements.Get(k)
				if strconv.FormatInt(el.Info().ID, 10) == id || k == id {
					bodyKey = k
				}
			}
			if bodyKey == "" {
				return nil, invalid("element.id", "no element has id %s; known: %s", id, strings.Join(s.Elements.Keys(), ", "))
			}
		}
		if key != "" && bodyKey != "" && bodyKey != key {
			return nil, invalid("element.key", "%q does not match the element in the URL (%q)", bodyKey, key)
		}
		if key == "" {
			key = bodyKey
		}
	}
	if key == "" {
		return nil, invalid("element.key", "is required, e.g. {\"element\": {\"key\": \"insightly\"}}")
	}
	el, ok := s.Elements.Get(key)
	if !ok {
		return nil, invalid("element.key", "unknown element %q; known: %s", key, strings.Join(s.Elements.Keys(), ", "))
	}
	return el, nil
}

// plainConfig reads a body's configuration into strings. current are the
// stored values: a secret sent back as ******** (as a client
// round-tripping a GET would) keeps its value. literal are the keys the
// body gave a value of its own (not the mask, not null). When some keys
// are refused (a field error listing them all), cfg still holds the
// others, so that they can be checked too.
func plainConfig(raw map[string]json.RawMessage, current map[string]string) (cfg map[string]string, removed []string, literal map[string]bool, err error) {
	cfg, literal = map[string]string{}, map[string]bool{}
	var p problems
	for _, key := range sortedRawKeys(raw) {
		if strings.HasPrefix(key, "pollhook.") {
			p.add(invalid("configuration."+key, "keys starting with pollhook. are reserved"))
			continue
		}
		v, present, err := configValue(key, raw[key], key == KeyPollerConfig)
		if err != nil {
			if err := p.add(err); err != nil {
				return nil, nil, nil, err
			}
			continue
		}
		switch {
		case !present:
			removed = append(removed, key)
		case v == Mask:
			old, ok := current[key]
			if !ok {
				p.add(invalid("configuration."+key, "is %s, which stands for a stored secret, but none is stored", Mask))
				continue
			}
			cfg[key] = old
		default:
			cfg[key], literal[key] = v, true
		}
	}
	return cfg, removed, literal, p.err()
}

func sortedRawKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return sortStrings(keys)
}

// items turns a configuration into stored items, secrets sealed.
func (s *Service) items(el element.Element, cfg map[string]string) []store.ConfigItem {
	var out []store.ConfigItem
	for _, k := range sortedKeys(cfg) {
		item := store.ConfigItem{Key: k, Value: cfg[k]}
		if isSecret(el, k) {
			item.Value, item.Secret = s.Keys.Seal(cfg[k], configContext(k)), true
		}
		out = append(out, item)
	}
	return out
}

// Config returns an instance's configuration in clear, for the poller and
// the hub. Never show it to a client: View masks it.
func (s *Service) Config(in *store.Instance) (map[string]string, error) {
	cfg := make(map[string]string, len(in.Config))
	for _, c := range in.Config {
		v := c.Value
		if c.Secret {
			var err error
			if v, err = s.Keys.Open(c.Value, configContext(c.Key)); err != nil {
				return nil, fmt.Errorf("instance %d, %s: %w", in.ID, c.Key, err)
			}
		}
		cfg[c.Key] = v
	}
	return cfg, nil
}

func (s *Service) elementOf(in *store.Instance) (element.Element, error) {
	el, ok := s.Elements.Get(in.ElementKey)
	if !ok {
		return nil, fmt.Errorf("instance %d uses element %q, which this server does not have", in.ID, in.ElementKey)
	}
	return el, nil
}

// Create validates a POST /instances body, checks the credentials with the
// upstream, and stores the instance: all of it, or nothing.
func (s *Service) Create(ctx context.Context, c Caller, pathKey string, body []byte) (*View, error) {
	in, err := decodeInput(body)
	if err != nil {
		return nil, err
	}
	el, err := s.element(pathKey, in.Element)
	if err != nil {
		return nil, err
	}
	if err := s.checkInstanceCount(ctx, s.Store, c.Org.ID); err != nil {
		return nil, err
	}
	// The name, the tags and the configuration are checked independently,
	// and every problem reported together; the credentials are checked
	// with the upstream only once the rest is valid.
	var p problems
	name := el.Info().Name + " instance"
	if in.Name != nil {
		var err error
		if name, err = cleanName(*in.Name); p.add(err) != nil {
			return nil, err
		}
	}
	tags := []string{}
	if in.Tags != nil {
		var err error
		if tags, err = cleanTags(*in.Tags); p.add(err) != nil {
			return nil, err
		}
	}
	cfg, _, _, err := plainConfig(in.Configuration, nil)
	if p.add(err) != nil {
		return nil, err
	}
	if err := p.addNew(s.checkConfig(ctx, el, cfg)); err != nil {
		return nil, err
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	id, err := s.verify(ctx, el, cfg)
	if err != nil {
		return nil, err
	}
	token := auth.NewSecret()
	inst := &store.Instance{OrgID: c.Org.ID, UserID: c.User.ID, ElementKey: el.Key(), Name: name, Tags: tags,
		TokenHash: auth.Hash(token), TokenSealed: s.Keys.Seal(token, tokenContext), Valid: true,
		EventsEnabled: cfg[KeyEventsEnabled] == "true", Account: id.Account, Config: s.items(el, cfg)}
	// Saving an instance locks its poll jobs' rows, which River's completer
	// also updates, in its own order: a deadlock's victim runs again (as in
	// Update, Delete and SetEnabled).
	err = s.Store.InTxRetrying(ctx, func(tx *store.Tx) error {
		if err := s.reserveInstance(ctx, tx, c.Org.ID); err != nil {
			return err
		}
		if err := tx.CreateInstance(ctx, inst); err != nil {
			return err
		}
		return s.scheduler().InstanceSaved(ctx, tx, inst)
	})
	if err != nil {
		return nil, err
	}
	return s.view(ctx, inst)
}

// Get reads one instance.
func (s *Service) Get(ctx context.Context, c Caller, id int64) (*View, error) {
	in, err := s.load(ctx, s.Store, c, id)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, in)
}

// List reads the organization's instances.
func (s *Service) List(ctx context.Context, c Caller, f store.InstanceFilter) ([]*View, error) {
	list, err := s.Store.Instances(ctx, c.Org.ID, f)
	if err != nil {
		return nil, err
	}
	out := []*View{}
	users := map[int64]*store.User{}
	for _, in := range list {
		v, err := s.viewWith(ctx, in, users)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Update applies PUT (replace) or PATCH (merge) to an instance. With
// PATCH, tags replace the old ones whole (as Cloud Elements does),
// configuration keys merge, and a key set to null is removed.
func (s *Service) Update(ctx context.Context, c Caller, id int64, body []byte, patch bool) (*View, error) {
	in, err := decodeInput(body)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, c, id, func(inst *store.Instance, current map[string]string) (map[string]string, map[string]bool, error) {
		if in.Element != nil {
			if _, err := s.element(inst.ElementKey, in.Element); err != nil {
				return nil, nil, invalid("element", "an instance cannot change element (it is %s)", inst.ElementKey)
			}
		}
		var p problems
		if in.Name != nil {
			name, err := cleanName(*in.Name)
			if p.add(err) != nil {
				return nil, nil, err
			}
			inst.Name = name
		} else if !patch {
			p.add(invalid("name", "is required in a PUT, which replaces the instance; use PATCH to change parts"))
		}
		if in.Tags != nil {
			tags, err := cleanTags(*in.Tags)
			if p.add(err) != nil {
				return nil, nil, err
			}
			inst.Tags = tags
		} else if !patch {
			inst.Tags = []string{}
		}
		next, removed, literal, err := plainConfig(in.Configuration, current)
		if p.add(err) != nil {
			return nil, nil, err
		}
		if !patch && !in.hasConfiguration {
			p.add(invalid("configuration", "is required in a PUT, which replaces the instance; use PATCH to change parts"))
		}
		if err := p.err(); err != nil {
			return nil, nil, err
		}
		if !patch {
			return next, literal, nil
		}
		merged := maps.Clone(current)
		maps.Copy(merged, next)
		for _, k := range removed {
			delete(merged, k)
		}
		return merged, literal, nil
	})
}

// change reads an instance, lets edit change it and compute its new
// configuration, validates that (checking the credentials with the
// upstream when they changed or were last found invalid), and writes it.
// The slow checks run outside the transaction; the write then makes sure
// nobody changed the instance meanwhile (409 if so).
//
// edit also says which keys the request gave values of its own (literal):
// a stored secret may only go where it was entered, so a change of where
// secrets are sent needs them given again (see secretsFollow).
func (s *Service) change(ctx context.Context, c Caller, id int64, edit func(inst *store.Instance, current map[string]string) (next map[string]string, literal map[string]bool, err error)) (*View, error) {
	inst, err := s.load(ctx, s.Store, c, id)
	if err != nil {
		return nil, err
	}
	el, err := s.elementOf(inst)
	if err != nil {
		return nil, err
	}
	current, err := s.Config(inst)
	if err != nil {
		return nil, err
	}
	next, literal, err := edit(inst, current)
	if err != nil {
		return nil, err
	}
	var p problems
	if err := p.add(secretsFollow(el, current, next, literal)); err != nil {
		return nil, err
	}
	if err := p.addNew(s.checkConfig(ctx, el, next)); err != nil {
		return nil, err
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	if credentialsChanged(el, current, next) || !inst.Valid {
		ident, err := s.verify(ctx, el, next)
		if err != nil {
			return nil, err
		}
		inst.Account, inst.Valid = ident.Account, true
	}
	inst.EventsEnabled = next[KeyEventsEnabled] == "true"
	inst.Config = s.items(el, next)
	seen := inst.UpdatedAt
	err = s.Store.InTxRetrying(ctx, func(tx *store.Tx) error {
		now, err := s.load(ctx, tx, c, id)
		if err != nil {
			return err
		}
		if !now.UpdatedAt.Equal(seen) {
			return &Error{Status: http.StatusConflict, Message: "the instance changed while this request was checked; send it again"}
		}
		if err := tx.UpdateInstance(ctx, inst); err != nil {
			return err
		}
		return s.scheduler().InstanceSaved(ctx, tx, inst)
	})
	if err != nil {
		return nil, err
	}
	return s.view(ctx, inst)
}

// Delete removes an instance; its token stops working at once.
func (s *Service) Delete(ctx context.Context, c Caller, id int64) error {
	return s.Store.InTxRetrying(ctx, func(tx *store.Tx) error {
		inst, err := s.load(ctx, tx, c, id)
		if err != nil {
			return err
		}
		if err := s.scheduler().InstanceDeleted(ctx, tx, inst); err != nil {
			return err
		}
		return tx.DeleteInstance(ctx, c.Org.ID, id)
	})
}

// SetEnabled enables or disables an instance: a disabled instance neither
// polls nor answers hub calls (403).
func (s *Service) SetEnabled(ctx context.Context, c Caller, id int64, enabled bool) (*View, error) {
	var inst *store.Instance
	err := s.Store.InTxRetrying(ctx, func(tx *store.Tx) error {
		var err error
		if inst, err = s.load(ctx, tx, c, id); err != nil {
			return err
		}
		inst.Disabled = !enabled
		if err := tx.UpdateInstance(ctx, inst); err != nil {
			return err
		}
		return s.scheduler().InstanceSaved(ctx, tx, inst)
	})
	if err != nil {
		return nil, err
	}
	return s.view(ctx, inst)
}

// ConfigItem is one configuration entry as GET /instances/{id}/configuration shows it.
type ConfigItem struct {
	ID            int64  `json:"id"`
	Key           string `json:"key"`
	Name          string `json:"name"`
	PropertyValue string `json:"propertyValue"`
}

// ConfigItems lists an instance's configuration, secrets masked.
func (s *Service) ConfigItems(ctx context.Context, c Caller, id int64) ([]ConfigItem, error) {
	inst, err := s.load(ctx, s.Store, c, id)
	if err != nil {
		return nil, err
	}
	el, err := s.elementOf(inst)
	if err != nil {
		return nil, err
	}
	out := []ConfigItem{}
	for _, it := range inst.Config {
		out = append(out, itemView(el, it))
	}
	return out, nil
}

func itemView(el element.Element, it store.ConfigItem) ConfigItem {
	v := it.Value
	if it.Secret || isSecret(el, it.Key) {
		v = Mask
	}
	return ConfigItem{ID: it.ID, Key: it.Key, Name: it.Key, PropertyValue: v}
}

var errNoItem = &Error{Status: http.StatusNotFound, Message: "no such configuration item"}

// ConfigItemByID reads one configuration item.
func (s *Service) ConfigItemByID(ctx context.Context, c Caller, id, itemID int64) (*ConfigItem, error) {
	items, err := s.ConfigItems(ctx, c, id)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if it.ID == itemID {
			return &it, nil
		}
	}
	return nil, errNoItem
}

// PatchConfigItem sets one configuration item's value (body: the item, or
// just {"propertyValue": …}), validated like any configuration change.
func (s *Service) PatchConfigItem(ctx context.Context, c Caller, id, itemID int64, body []byte) (*ConfigItem, error) {
	var req struct {
		PropertyValue json.RawMessage `json:"propertyValue"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, jsonError("body", body, err)
	}
	if len(req.PropertyValue) == 0 {
		return nil, invalid("propertyValue", "is required")
	}
	var key string
	v, err := s.change(ctx, c, id, func(inst *store.Instance, current map[string]string) (map[string]string, map[string]bool, error) {
		for _, it := range inst.Config {
			if it.ID == itemID {
				key = it.Key
			}
		}
		if key == "" {
			return nil, nil, errNoItem
		}
		next, removed, literal, err := plainConfig(map[string]json.RawMessage{key: req.PropertyValue}, current)
		if err != nil {
			return nil, nil, err
		}
		if len(removed) > 0 {
			return nil, nil, invalid("propertyValue", "must not be null; PATCH the instance's configuration to remove a key")
		}
		merged := maps.Clone(current)
		maps.Copy(merged, next)
		return merged, literal, nil
	})
	if err != nil {
		return nil, err
	}
	return s.ConfigItemByID(ctx, c, v.ID, s.itemID(ctx, c, v.ID, key))
}

// itemID finds the ID of a configuration key (it survives updates).
func (s *Service) itemID(ctx context.Context, c Caller, id int64, key string) int64 {
	items, _ := s.ConfigItems(ctx, c, id)
	for _, it := range items {
		if it.Key == key {
			return it.ID
		}
	}
	return 0
}

// Hub opens the upstream connection of the instance an Element token
// names, for hub calls by a user of its organization.
func (s *Service) Hub(ctx context.Context, orgID int64, token string) (element.Conn, *store.Instance, error) {
	inst, err := s.ByToken(ctx, orgID, token)
	if err != nil {
		return nil, nil, err
	}
	conn, err := s.OpenHub(inst)
	return conn, inst, err
}

// OpenHub connects to an instance for hub calls: refused while the
// instance is disabled.
func (s *Service) OpenHub(inst *store.Instance) (element.Conn, error) {
	if inst.Disabled {
		return nil, &Error{Status: http.StatusForbidden, Message: "the instance is disabled"}
	}
	return s.Open(inst)
}

// Open connects to an instance's upstream account, sharing the account's
// rate limits with its other instances.
func (s *Service) Open(inst *store.Instance) (element.Conn, error) {
	el, err := s.elementOf(inst)
	if err != nil {
		return nil, err
	}
	cfg, err := s.Config(inst)
	if err != nil {
		if errors.Is(err, seal.ErrOpen) {
			return nil, &Error{Status: http.StatusInternalServerError, Message: "the instance's credentials cannot be decrypted with the configured keys"}
		}
		return nil, err
	}
	if inst.Account != "" {
		cfg[element.ConfigAccount] = inst.Account
	}
	return el.Open(cfg)
}
