package store

import (
	"context"
	"time"
)

// Organization is a tenant: its users see only its instances.
type Organization struct {
	ID         int64
	Name       string
	SecretHash []byte // SHA-256 of the organization secret
	CreatedAt  time.Time
}

// User belongs to one organization.
type User struct {
	ID         int64
	OrgID      int64
	Email      string
	FirstName  string
	LastName   string
	SecretHash []byte // SHA-256 of the user secret
	// PasswordHash is the console password's bcrypt hash, "" when none is
	// set (the user cannot sign in to the console).
	PasswordHash string
	CreatedAt    time.Time
	// OrgName is the organization's name, read with the user (not
	// written by CreateUser).
	OrgName string
}

// CreateOrganization stores o and sets its ID and CreatedAt.
func (q queries) CreateOrganization(ctx context.Context, o *Organization) error {
	o.CreatedAt = now()
	return q.d.wrap(q.row(ctx, `INSERT INTO organizations (name, secret_hash, created_at) VALUES (?, ?, ?) RETURNING id`,
		o.Name, o.SecretHash, o.CreatedAt).Scan(&o.ID))
}

// CountOrganizations tells whether pollhook has been set up.
func (q queries) CountOrganizations(ctx context.Context) (int, error) {
	var n int
	err := q.row(ctx, `SELECT COUNT(*) FROM organizations`).Scan(&n)
	return n, q.d.wrap(err)
}

// OrganizationBySecret finds the organization whose secret hashes to hash.
func (q queries) OrganizationBySecret(ctx context.Context, hash []byte) (*Organization, error) {
	var o Organization
	err := q.row(ctx, `SELECT id, name, secret_hash, created_at FROM organizations WHERE secret_hash = ?`, hash).
		Scan(&o.ID, &o.Name, &o.SecretHash, &o.CreatedAt)
	if err != nil {
		return nil, q.d.wrap(err)
	}
	return &o, nil
}

// CreateUser stores u and sets its ID and CreatedAt.
func (q queries) CreateUser(ctx context.Context, u *User) error {
	u.CreatedAt = now()
	return q.d.wrap(q.row(ctx, `INSERT INTO users (org_id, email, first_name, last_name, secret_hash, password_hash, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		u.OrgID, u.Email, u.FirstName, u.LastName, u.SecretHash, u.PasswordHash, u.CreatedAt).Scan(&u.ID))
}

// selectUsers reads users with their organization's name; queries add
// their WHERE on u's columns.
const selectUsers = `SELECT u.id, u.org_id, u.email, u.first_name, u.last_name, u.secret_hash, u.password_hash,
	u.created_at, o.name FROM users u JOIN organizations o ON o.id = u.org_id`

func scanUser(sc interface{ Scan(...any) error }) (*User, error) {
	var u User
	if err := sc.Scan(&u.ID, &u.OrgID, &u.Email, &u.FirstName, &u.LastName, &u.SecretHash, &u.PasswordHash, &u.CreatedAt, &u.OrgName); err != nil {
		return nil, err
	}
	return &u, nil
}

// UserBySecret finds the user whose secret hashes to hash.
func (q queries) UserBySecret(ctx context.Context, hash []byte) (*User, error) {
	u, err := scanUser(q.row(ctx, selectUsers+` WHERE u.secret_hash = ?`, hash))
	return u, q.d.wrap(err)
}

// UserByID finds a user.
func (q queries) UserByID(ctx context.Context, id int64) (*User, error) {
	u, err := scanUser(q.row(ctx, selectUsers+` WHERE u.id = ?`, id))
	return u, q.d.wrap(err)
}

// Users lists an organization's users.
func (q queries) Users(ctx context.Context, orgID int64) ([]*User, error) {
	return q.users(ctx, selectUsers+` WHERE u.org_id = ? ORDER BY u.id`, orgID)
}

// UsersByEmail finds every organization's user with the address email,
// compared case-insensitively (ASCII and, on PostgreSQL, Unicode
// lower-casing), ordered by organization. Each user's OrgName is set.
func (q queries) UsersByEmail(ctx context.Context, email string) ([]*User, error) {
	return q.users(ctx, selectUsers+` WHERE lower(u.email) = lower(?) ORDER BY u.org_id, u.id`, email)
}

// SetUserPassword sets a user's console password hash ("" removes it).
// The caller hashes: the store never sees a password.
func (q queries) SetUserPassword(ctx context.Context, userID int64, hash string) error {
	res, err := q.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return q.d.wrap(err)
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

// OrganizationByID finds an organization.
func (q queries) OrganizationByID(ctx context.Context, id int64) (*Organization, error) {
	var o Organization
	err := q.row(ctx, `SELECT id, name, secret_hash, created_at FROM organizations WHERE id = ?`, id).
		Scan(&o.ID, &o.Name, &o.SecretHash, &o.CreatedAt)
	if err != nil {
		return nil, q.d.wrap(err)
	}
	return &o, nil
}

func (q queries) users(ctx context.Context, query string, args ...any) ([]*User, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, q.d.wrap(err)
		}
		out = append(out, u)
	}
	return out, q.d.wrap(rows.Err())
}

// Organizations lists every organization.
func (q queries) Organizations(ctx context.Context) ([]*Organization, error) {
	rows, err := q.query(ctx, `SELECT id, name, secret_hash, created_at FROM organizations ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Organization
	for rows.Next() {
		var o Organization
		if err := rows.Scan(&o.ID, &o.Name, &o.SecretHash, &o.CreatedAt); err != nil {
			return nil, q.d.wrap(err)
		}
		out = append(out, &o)
	}
	return out, q.d.wrap(rows.Err())
}
