package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Instance is an element instance: one connection to an upstream account.
type Instance struct {
	ID          int64
	OrgID       int64
	UserID      int64
	ElementKey  string
	Name        string
	Tags        []string
	TokenHash   []byte // SHA-256 of the token, to authenticate hub calls
	TokenSealed string // the token, encrypted: GET /instances/{id} returns it
	Valid       bool
	Disabled    bool
	// EventsEnabled mirrors configuration event.notification.enabled.
	EventsEnabled bool
	// InvalidReason says why Valid is false (credentials refused, say).
	InvalidReason string
	// Account is the upstream account the credentials belong to.
	Account   string
	Config    []ConfigItem // ordered by ID
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ConfigItem is one configuration key of an instance. Secret values are
// stored sealed (encrypted) by the caller; the store keeps them as given.
type ConfigItem struct {
	ID     int64
	Key    string
	Value  string
	Secret bool
}

// ConfigValue returns the value of key, if set.
func (in *Instance) ConfigValue(key string) (string, bool) {
	for _, c := range in.Config {
		if c.Key == key {
			return c.Value, true
		}
	}
	return "", false
}

// InstanceFilter narrows Instances.
type InstanceFilter struct {
	Tags   []string // every one must be present
	Search string   // substring of the name or element key, case-insensitive
}

const instanceColumns = `id, org_id, user_id, element_key, name, tags, token_hash, token_sealed,
	valid, invalid_reason, disabled, events_enabled, account, created_at, updated_at`

func scanInstance(sc interface{ Scan(...any) error }) (*Instance, error) {
	var in Instance
	var tags string
	if err := sc.Scan(&in.ID, &in.OrgID, &in.UserID, &in.ElementKey, &in.Name, &tags, &in.TokenHash,
		&in.TokenSealed, &in.Valid, &in.InvalidReason, &in.Disabled, &in.EventsEnabled, &in.Account, &in.CreatedAt, &in.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &in.Tags); err != nil {
		return nil, fmt.Errorf("store: instance %d tags: %w", in.ID, err)
	}
	return &in, nil
}

func tagsJSON(tags []string) string {
	if tags == nil {
		tags = []string{}
	}
	b, _ := json.Marshal(tags)
	return string(b)
}

// CreateInstance stores in with its configuration and sets the IDs and times.
func (q queries) CreateInstance(ctx context.Context, in *Instance) error {
	in.CreatedAt = now()
	in.UpdatedAt = in.CreatedAt
	err := q.row(ctx, `INSERT INTO instances (org_id, user_id, element_key, name, tags, token_hash, token_sealed,
		valid, disabled, events_enabled, account, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		in.OrgID, in.UserID, in.ElementKey, in.Name, tagsJSON(in.Tags), in.TokenHash, in.TokenSealed,
		q.d.bool(in.Valid), q.d.bool(in.Disabled), q.d.bool(in.EventsEnabled), in.Account, in.CreatedAt, in.UpdatedAt).Scan(&in.ID)
	if err != nil {
		return q.d.wrap(err)
	}
	for i := range in.Config {
		if err := q.insertConfig(ctx, in.ID, &in.Config[i]); err != nil {
			return err
		}
	}
	return nil
}

func (q queries) insertConfig(ctx context.Context, instanceID int64, c *ConfigItem) error {
	return q.d.wrap(q.row(ctx, `INSERT INTO instance_config (instance_id, key, value, secret) VALUES (?, ?, ?, ?) RETURNING id`,
		instanceID, c.Key, c.Value, q.d.bool(c.Secret)).Scan(&c.ID))
}

// Instance reads one instance of an organization.
func (q queries) Instance(ctx context.Context, orgID, id int64) (*Instance, error) {
	in, err := scanInstance(q.row(ctx, `SELECT `+instanceColumns+` FROM instances WHERE id = ? AND org_id = ?`, id, orgID))
	if err != nil {
		return nil, q.d.wrap(err)
	}
	return in, q.loadConfig(ctx, in)
}

// InstanceByID reads any organization's instance: for background work,
// never for a request.
func (q queries) InstanceByID(ctx context.Context, id int64) (*Instance, error) {
	in, err := scanInstance(q.row(ctx, `SELECT `+instanceColumns+` FROM instances WHERE id = ?`, id))
	if err != nil {
		return nil, q.d.wrap(err)
	}
	return in, q.loadConfig(ctx, in)
}

// InstanceByToken finds the instance whose token hashes to hash.
func (q queries) InstanceByToken(ctx context.Context, hash []byte) (*Instance, error) {
	in, err := scanInstance(q.row(ctx, `SELECT `+instanceColumns+` FROM instances WHERE token_hash = ?`, hash))
	if err != nil {
		return nil, q.d.wrap(err)
	}
	return in, q.loadConfig(ctx, in)
}

func (q queries) loadConfig(ctx context.Context, in *Instance) error {
	rows, err := q.query(ctx, `SELECT id, key, value, secret FROM instance_config WHERE instance_id = ? ORDER BY id`, in.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	in.Config = nil
	for rows.Next() {
		var c ConfigItem
		if err := rows.Scan(&c.ID, &c.Key, &c.Value, &c.Secret); err != nil {
			return q.d.wrap(err)
		}
		in.Config = append(in.Config, c)
	}
	return q.d.wrap(rows.Err())
}

// Instances lists an organization's instances, oldest first.
func (q queries) Instances(ctx context.Context, orgID int64, f InstanceFilter) ([]*Instance, error) {
	rows, err := q.query(ctx, `SELECT `+instanceColumns+` FROM instances WHERE org_id = ? ORDER BY id`, orgID)
	if err != nil {
		return nil, err
	}
	var out []*Instance
	for rows.Next() {
		in, err := scanInstance(rows)
		if err != nil {
			rows.Close()
			return nil, q.d.wrap(err)
		}
		if f.matches(in) {
			out = append(out, in)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(err)
	}
	return out, q.loadConfigs(ctx, orgID, out)
}

// loadConfigs loads the configuration of an organization's instances
// listed, in one query whatever their number (one per instance made a
// list of 10,000 instances 10,000 statements).
func (q queries) loadConfigs(ctx context.Context, orgID int64, list []*Instance) error {
	if len(list) == 0 {
		return nil
	}
	byID := make(map[int64]*Instance, len(list))
	for _, in := range list {
		in.Config = nil
		byID[in.ID] = in
	}
	rows, err := q.query(ctx, `SELECT c.instance_id, c.id, c.key, c.value, c.secret FROM instance_config c
		JOIN instances i ON i.id = c.instance_id WHERE i.org_id = ? ORDER BY c.instance_id, c.id`, orgID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var c ConfigItem
		if err := rows.Scan(&id, &c.ID, &c.Key, &c.Value, &c.Secret); err != nil {
			return q.d.wrap(err)
		}
		if in := byID[id]; in != nil {
			in.Config = append(in.Config, c)
		}
	}
	return q.d.wrap(rows.Err())
}

func (f InstanceFilter) matches(in *Instance) bool {
	for _, t := range f.Tags {
		if !slices.Contains(in.Tags, t) {
			return false
		}
	}
	s := strings.ToLower(f.Search)
	return s == "" || strings.Contains(strings.ToLower(in.Name), s) || strings.Contains(strings.ToLower(in.ElementKey), s)
}

// UpdateInstance writes in back, configuration included: items keep
// their IDs while their key stays, removed keys go, new keys get IDs.
func (q queries) UpdateInstance(ctx context.Context, in *Instance) error {
	in.UpdatedAt = now()
	if in.Valid {
		in.InvalidReason = ""
	}
	res, err := q.exec(ctx, `UPDATE instances SET user_id = ?, element_key = ?, name = ?, tags = ?, token_hash = ?,
		token_sealed = ?, valid = ?, invalid_reason = ?, disabled = ?, events_enabled = ?, account = ?, updated_at = ?
		WHERE id = ? AND org_id = ?`,
		in.UserID, in.ElementKey, in.Name, tagsJSON(in.Tags), in.TokenHash, in.TokenSealed, q.d.bool(in.Valid),
		in.InvalidReason, q.d.bool(in.Disabled), q.d.bool(in.EventsEnabled), in.Account, in.UpdatedAt, in.ID, in.OrgID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	old := &Instance{ID: in.ID}
	if err := q.loadConfig(ctx, old); err != nil {
		return err
	}
	byKey := map[string]ConfigItem{}
	for _, c := range old.Config {
		byKey[c.Key] = c
	}
	keep := map[string]bool{}
	for i := range in.Config {
		c := &in.Config[i]
		keep[c.Key] = true
		prev, ok := byKey[c.Key]
		switch {
		case !ok:
			if err := q.insertConfig(ctx, in.ID, c); err != nil {
				return err
			}
		case prev.Value != c.Value || prev.Secret != c.Secret:
			c.ID = prev.ID
			if _, err := q.exec(ctx, `UPDATE instance_config SET value = ?, secret = ? WHERE id = ?`, c.Value, q.d.bool(c.Secret), c.ID); err != nil {
				return err
			}
		default:
			c.ID = prev.ID
		}
	}
	for key, c := range byKey {
		if !keep[key] {
			if _, err := q.exec(ctx, `DELETE FROM instance_config WHERE id = ?`, c.ID); err != nil {
				return err
			}
		}
	}
	slices.SortFunc(in.Config, func(a, b ConfigItem) int { return cmp.Compare(a.ID, b.ID) })
	return nil
}

// DeleteInstance removes an instance and everything that belongs to it.
func (q queries) DeleteInstance(ctx context.Context, orgID, id int64) error {
	res, err := q.exec(ctx, `DELETE FROM instances WHERE id = ? AND org_id = ?`, id, orgID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
