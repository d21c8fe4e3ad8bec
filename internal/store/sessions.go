package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Session is a console sign-in, kept in the database so that any replica
// serves any request. The cookie carries a random token; the store keeps
// only its SHA-256 (TokenHash).
//
// A Pending session is one whose address and password matched users in
// several organizations: it has no user yet (UserID and OrgID are 0) and
// Candidates lists the users it may become, one per organization, until
// ChooseSessionUser makes it a full session for one of them.
//
// Sessions are not copied by `database copy` or `database backup`: they
// are short-lived, and everyone simply signs in again.
type Session struct {
	ID         int64
	TokenHash  []byte
	UserID     int64
	OrgID      int64
	Pending    bool
	Candidates []int64
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
}

// TouchInterval is the least time between two writes of a session's
// sliding expiry: requests closer together than this write nothing.
const TouchInterval = time.Minute

const sessionColumns = `id, token_hash, user_id, org_id, pending, candidates, created_at, expires_at, last_seen_at`

func scanSession(sc interface{ Scan(...any) error }) (*Session, error) {
	var s Session
	var user, org *int64
	var pending any
	var candidates string
	if err := sc.Scan(&s.ID, &s.TokenHash, &user, &org, &pending, &candidates, &s.CreatedAt, &s.ExpiresAt, &s.LastSeenAt); err != nil {
		return nil, err
	}
	if user != nil {
		s.UserID = *user
	}
	if org != nil {
		s.OrgID = *org
	}
	switch p := pending.(type) {
	case bool:
		s.Pending = p
	case int64:
		s.Pending = p != 0
	}
	for f := range strings.SplitSeq(candidates, ",") {
		if id, err := strconv.ParseInt(f, 10, 64); err == nil {
			s.Candidates = append(s.Candidates, id)
		}
	}
	return &s, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// CreateSession stores s and sets its ID. A full session names UserID
// and OrgID; a pending one names Candidates (at least two users) and no
// user. CreatedAt and LastSeenAt default to now; ExpiresAt is required.
func (q queries) CreateSession(ctx context.Context, s *Session) error {
	switch {
	case len(s.TokenHash) == 0 || s.ExpiresAt.IsZero():
		return fmt.Errorf("store: a session needs a token hash and an expiry")
	case s.Pending && (s.UserID != 0 || s.OrgID != 0 || len(s.Candidates) == 0):
		return fmt.Errorf("store: a pending session has candidates and no user")
	case !s.Pending && (s.UserID == 0 || s.OrgID == 0 || len(s.Candidates) != 0):
		return fmt.Errorf("store: a session has a user and an organization")
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now()
	}
	if s.LastSeenAt.IsZero() {
		s.LastSeenAt = s.CreatedAt
	}
	ids := make([]string, len(s.Candidates))
	for i, id := range s.Candidates {
		ids[i] = strconv.FormatInt(id, 10)
	}
	return q.d.wrap(q.row(ctx, `INSERT INTO console_sessions
		(token_hash, user_id, org_id, pending, candidates, created_at, expires_at, last_seen_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		s.TokenHash, nullID(s.UserID), nullID(s.OrgID), q.d.bool(s.Pending), strings.Join(ids, ","),
		s.CreatedAt.UTC(), s.ExpiresAt.UTC(), s.LastSeenAt.UTC()).Scan(&s.ID))
}

// SessionByToken finds the session whose token hashes to tokenHash and
// has not expired at now; ErrNotFound otherwise.
func (q queries) SessionByToken(ctx context.Context, tokenHash []byte, now time.Time) (*Session, error) {
	s, err := scanSession(q.row(ctx, `SELECT `+sessionColumns+` FROM console_sessions
		WHERE token_hash = ? AND expires_at > ?`, tokenHash, now.UTC()))
	return s, q.d.wrap(err)
}

// ChooseSessionUser turns the pending session id into a full session for
// userID, which must be one of its candidates (ErrNotFound otherwise, or
// when the session is missing, expired at now or no longer pending, or
// the user has been deleted). The session gets a new token, newTokenHash,
// so that the token used while choosing cannot be reused, and a new expiry.
func (s *Store) ChooseSessionUser(ctx context.Context, id, userID int64, newTokenHash []byte, now, expiresAt time.Time) (*Session, error) {
	var out *Session
	err := s.InTx(ctx, func(tx *Tx) error {
		sess, err := scanSession(tx.row(ctx, `SELECT `+sessionColumns+` FROM console_sessions
			WHERE id = ? AND expires_at > ?`, id, now.UTC()))
		if err != nil {
			return tx.d.wrap(err)
		}
		if !sess.Pending || !slices.Contains(sess.Candidates, userID) {
			return ErrNotFound
		}
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		res, err := tx.exec(ctx, `UPDATE console_sessions SET token_hash = ?, user_id = ?, org_id = ?, pending = ?,
			candidates = '', expires_at = ?, last_seen_at = ? WHERE id = ? AND pending = ?`,
			newTokenHash, u.ID, u.OrgID, tx.d.bool(false), expiresAt.UTC(), now.UTC(), id, tx.d.bool(true))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return ErrNotFound // chosen meanwhile by another request
		}
		sess.TokenHash, sess.UserID, sess.OrgID, sess.Pending, sess.Candidates = newTokenHash, u.ID, u.OrgID, false, nil
		sess.ExpiresAt, sess.LastSeenAt = expiresAt.UTC(), now.UTC()
		out = sess
		return nil
	})
	return out, err
}

// TouchSession slides a session's expiry: it records now as last seen
// and expiresAt as the new expiry, unless the session was already seen
// less than TouchInterval before now, so that busy sessions write at
// most once a minute. It reports whether it wrote.
func (q queries) TouchSession(ctx context.Context, id int64, now, expiresAt time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE console_sessions SET last_seen_at = ?, expires_at = ?
		WHERE id = ? AND last_seen_at <= ? AND expires_at > ?`,
		now.UTC(), expiresAt.UTC(), id, now.Add(-TouchInterval).UTC(), now.UTC())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, q.d.wrap(err)
}

// DeleteSession ends a session; deleting one that is gone is not an error.
func (q queries) DeleteSession(ctx context.Context, id int64) error {
	_, err := q.exec(ctx, `DELETE FROM console_sessions WHERE id = ?`, id)
	return err
}

// PruneSessions deletes the sessions expired at now and says how many.
func (q queries) PruneSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM console_sessions WHERE expires_at <= ?`, now.UTC())
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return n, q.d.wrap(err)
}

// DeleteUserSessions ends every full session of a user (after a password
// change, say) and says how many there were.
func (q queries) DeleteUserSessions(ctx context.Context, userID int64) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM console_sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return n, q.d.wrap(err)
}
