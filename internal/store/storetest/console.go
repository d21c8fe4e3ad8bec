package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// Users carry a password hash; one address may be a user of several
// organizations, found together case-insensitively.
func testConsoleUsers(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a, ua := seed(t, s, "acme")
	b, _ := seed(t, s, "bolt")
	ub := &store.User{OrgID: b.ID, Email: "ACME@Example.com", SecretHash: []byte("user-acme-in-bolt"), PasswordHash: "$2a$hash"}
	if err := s.CreateUser(ctx, ub); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByID(ctx, ub.ID)
	if err != nil || got.PasswordHash != "$2a$hash" || got.OrgName != "bolt" {
		t.Fatalf("UserByID: %+v %v", got, err)
	}
	if ua.PasswordHash != "" {
		t.Fatal("a new user has a password")
	}
	users, err := s.UsersByEmail(ctx, "acme@EXAMPLE.com")
	if err != nil || len(users) != 2 {
		t.Fatalf("UsersByEmail: %v %v", users, err)
	}
	if users[0].ID != ua.ID || users[0].OrgName != "acme" || users[0].OrgID != a.ID ||
		users[1].ID != ub.ID || users[1].OrgName != "bolt" || users[1].PasswordHash != "$2a$hash" {
		t.Errorf("UsersByEmail: %+v %+v", users[0], users[1])
	}
	if users, err := s.UsersByEmail(ctx, "nobody@example.com"); err != nil || len(users) != 0 {
		t.Errorf("unknown address: %v %v", users, err)
	}
	if err := s.SetUserPassword(ctx, ua.ID, "$2a$new"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserBySecret(ctx, []byte("user-acme")); got.PasswordHash != "$2a$new" {
		t.Errorf("after SetUserPassword: %q", got.PasswordHash)
	}
	if err := s.SetUserPassword(ctx, 99999, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	if us, _ := s.Users(ctx, a.ID); len(us) != 1 || us[0].PasswordHash != "$2a$new" || us[0].OrgName != "acme" {
		t.Errorf("Users: %+v", us)
	}
}

func testConsoleSessions(t *testing.T, s *store.Store) {
	ctx := context.Background()
	_, ua := seed(t, s, "acme")
	_, ub := seed(t, s, "bolt")
	_, uc := seed(t, s, "coil")
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)

	full := &store.Session{TokenHash: []byte("full"), UserID: ua.ID, OrgID: ua.OrgID,
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateSession(ctx, full); err != nil || full.ID == 0 {
		t.Fatalf("CreateSession: %v", err)
	}
	got, err := s.SessionByToken(ctx, []byte("full"), t0.Add(time.Minute))
	if err != nil || got.ID != full.ID || got.UserID != ua.ID || got.OrgID != ua.OrgID || got.Pending ||
		!got.ExpiresAt.Equal(t0.Add(time.Hour)) || !got.LastSeenAt.Equal(t0) {
		t.Fatalf("SessionByToken: %+v %v", got, err)
	}
	if _, err := s.SessionByToken(ctx, []byte("full"), t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired: %v", err)
	}
	if _, err := s.SessionByToken(ctx, []byte("nope"), t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	// Invalid shapes are refused.
	for _, bad := range []*store.Session{
		{TokenHash: []byte("x"), ExpiresAt: t0},
		{TokenHash: []byte("x"), ExpiresAt: t0, Pending: true},
		{TokenHash: []byte("x"), ExpiresAt: t0, Pending: true, UserID: ua.ID, OrgID: ua.OrgID, Candidates: []int64{ua.ID}},
		{TokenHash: []byte("x"), UserID: ua.ID, OrgID: ua.OrgID},
	} {
		if err := s.CreateSession(ctx, bad); err == nil {
			t.Errorf("created %+v", bad)
		}
	}

	// Touching slides the expiry, at most once a minute.
	if wrote, err := s.TouchSession(ctx, full.ID, t0.Add(30*time.Second), t0.Add(2*time.Hour)); err != nil || wrote {
		t.Errorf("touch within a minute: %v %v", wrote, err)
	}
	if wrote, err := s.TouchSession(ctx, full.ID, t0.Add(2*time.Minute), t0.Add(3*time.Hour)); err != nil || !wrote {
		t.Errorf("touch after two minutes: %v %v", wrote, err)
	}
	if got, _ := s.SessionByToken(ctx, []byte("full"), t0.Add(2*time.Hour)); got == nil || !got.ExpiresAt.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("after touch: %+v", got)
	}

	// A pending session becomes a full one only for a candidate.
	pend := &store.Session{TokenHash: []byte("choose"), Pending: true, Candidates: []int64{ua.ID, ub.ID},
		CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
	if err := s.CreateSession(ctx, pend); err != nil {
		t.Fatal(err)
	}
	got, err = s.SessionByToken(ctx, []byte("choose"), t0)
	if err != nil || !got.Pending || got.UserID != 0 || len(got.Candidates) != 2 || got.Candidates[1] != ub.ID {
		t.Fatalf("pending: %+v %v", got, err)
	}
	if _, err := s.ChooseSessionUser(ctx, pend.ID, uc.ID, []byte("chosen"), t0, t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a non-candidate was chosen: %v", err)
	}
	if _, err := s.ChooseSessionUser(ctx, pend.ID, ub.ID, []byte("chosen"), t0.Add(11*time.Minute), t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("chosen after expiry: %v", err)
	}
	if _, err := s.ChooseSessionUser(ctx, full.ID, ub.ID, []byte("chosen"), t0, t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a full session was re-chosen: %v", err)
	}
	ch, err := s.ChooseSessionUser(ctx, pend.ID, ub.ID, []byte("chosen"), t0.Add(time.Minute), t0.Add(time.Hour))
	if err != nil || ch.UserID != ub.ID || ch.OrgID != ub.OrgID || ch.Pending || len(ch.Candidates) != 0 {
		t.Fatalf("choose: %+v %v", ch, err)
	}
	if _, err := s.SessionByToken(ctx, []byte("choose"), t0.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the choosing token still works: %v", err)
	}
	if got, err := s.SessionByToken(ctx, []byte("chosen"), t0.Add(time.Minute)); err != nil || got.UserID != ub.ID || got.Pending {
		t.Errorf("chosen: %+v %v", got, err)
	}
	if _, err := s.ChooseSessionUser(ctx, pend.ID, ua.ID, []byte("again"), t0.Add(time.Minute), t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("chosen twice: %v", err)
	}

	// A user's sessions end together.
	extra := &store.Session{TokenHash: []byte("extra"), UserID: ub.ID, OrgID: ub.OrgID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateSession(ctx, extra); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteUserSessions(ctx, ub.ID); err != nil || n != 2 {
		t.Errorf("DeleteUserSessions: %d %v", n, err)
	}
	if _, err := s.SessionByToken(ctx, []byte("chosen"), t0.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after DeleteUserSessions: %v", err)
	}
	ch = extra

	// Delete and prune.
	if err := s.DeleteSession(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByToken(ctx, []byte("chosen"), t0.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted: %v", err)
	}
	old := &store.Session{TokenHash: []byte("old"), UserID: uc.ID, OrgID: uc.OrgID, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	if err := s.CreateSession(ctx, old); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneSessions(ctx, t0.Add(2*time.Minute)); err != nil || n != 1 {
		t.Errorf("prune: %d %v", n, err)
	}
	if _, err := s.SessionByToken(ctx, []byte("full"), t0.Add(2*time.Minute)); err != nil {
		t.Errorf("prune took a live session: %v", err)
	}
}

// Deleting a user or an organization leaves none of its sessions usable.
func testConsoleSessionsCascade(t *testing.T, s *store.Store) {
	ctx := context.Background()
	o, u := seed(t, s, "acme")
	_, u2 := seed(t, s, "bolt")
	t0 := time.Now().UTC()
	for _, sess := range []*store.Session{
		{TokenHash: []byte("a"), UserID: u.ID, OrgID: o.ID, ExpiresAt: t0.Add(time.Hour)},
		{TokenHash: []byte("b"), UserID: u2.ID, OrgID: u2.OrgID, ExpiresAt: t0.Add(time.Hour)},
		{TokenHash: []byte("p"), Pending: true, Candidates: []int64{u.ID, u2.ID}, ExpiresAt: t0.Add(time.Hour)},
	} {
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DB().ExecContext(ctx, s.Rebind(`DELETE FROM users WHERE id = ?`), u2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByToken(ctx, []byte("b"), t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a deleted user's session: %v", err)
	}
	p, err := s.SessionByToken(ctx, []byte("p"), t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChooseSessionUser(ctx, p.ID, u2.ID, []byte("p2"), t0, t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a deleted candidate was chosen: %v", err)
	}
	if _, err := s.DB().ExecContext(ctx, s.Rebind(`DELETE FROM organizations WHERE id = ?`), o.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByToken(ctx, []byte("a"), t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a deleted organization's session: %v", err)
	}
}
