// Package session signs people in to the web console: e-mail and
// password checked against the store's users, sessions kept in the
// database (so any replica serves any request) and carried by a cookie,
// sign-in attempts throttled, and the client's address and scheme read
// from a trusted proxy's headers. It has no SQL of its own.
//
// A typical sign-in handler:
//
//	users, err := m.AuthenticateDevice(ctx, email, password, session.ClientAddr(r, trusted), session.DeviceCookie(r))
//	// ErrBadCredentials: say so; *ThrottledError: 429 with Retry-After
//	_, err = m.Start(ctx, w, users)
//	m.RememberDevice(w, email)
//
// and then each request calls m.Current(r): a Current with Choices asks
// the person to pick an organization (m.Choose); otherwise it carries the
// signed-in user and organization.
package session

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/store"
)

// CookieName is the session cookie.
const CookieName = "pollhook_session"

// DefaultTTL is how long a session lasts without use.
const DefaultTTL = 12 * time.Hour

// ChoosingTTL bounds how long a session may wait for its organization to
// be chosen.
const ChoosingTTL = 15 * time.Minute

// Errors; match them with errors.Is (and *ThrottledError with errors.As).
var (
	// ErrBadCredentials is the one answer to a wrong address, a wrong
	// password, or a user without a console password: which it was is not
	// told.
	ErrBadCredentials = errors.New("the e-mail address or the password is wrong")
	// ErrNoSession means the request carries no usable session: none,
	// unknown, expired, ended, or its user or organization deleted.
	ErrNoSession = errors.New("not signed in")
	// ErrNotAChoice means Choose was asked for an organization the
	// session may not choose, or the session is not choosing.
	ErrNotAChoice = errors.New("that organization is not one of this sign-in's choices")
)

// Manager signs people in and out. Its zero fields take defaults; set
// them before first use.
type Manager struct {
	Store    *store.Store
	TTL      time.Duration    // session lifetime, sliding with use (DefaultTTL)
	Secure   bool             // mark the cookie Secure (set when the console is served over HTTPS)
	Now      func() time.Time // the clock (time.Now)
	Throttle *Throttle        // sign-in limits (nil: NewThrottle's defaults, made on first use)
	// DeviceKey signs device cookies (see DeviceCookieName). Nil: none
	// are issued or accepted, and the account-wide budget applies to
	// every client.
	DeviceKey []byte

	once sync.Once
}

func (m *Manager) init() {
	m.once.Do(func() {
		if m.Throttle == nil {
			m.Throttle = NewThrottle()
		}
	})
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

func (m *Manager) ttl() time.Duration { return cmp.Or(m.TTL, DefaultTTL) }

// dummyHash is checked when no user matches, so that an unknown address
// costs the same bcrypt time as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, err := auth.HashPassword(auth.NewPassword())
	if err != nil {
		panic(err)
	}
	return h
})

// Authenticate is AuthenticateDevice from a client without a device
// cookie.
func (m *Manager) Authenticate(ctx context.Context, email, password, client string) ([]*store.User, error) {
	return m.AuthenticateDevice(ctx, email, password, client, "")
}

// AuthenticateDevice checks an e-mail address and password, tried from
// client (the address ClientAddr gives) with the device cookie device
// (DeviceCookie; "" for none), and returns the users they match: one per
// organization where that address has that password. It answers
// ErrBadCredentials, the same for an unknown address, a wrong password
// and a user with no console password, after comparable bcrypt work; or
// *ThrottledError when a sign-in budget (see Throttle) is spent. A device
// cookie that is not valid for this account is ignored.
//
// Every user with the address is checked (one bcrypt each), so the time
// taken grows with the number of organizations the address is in.
func (m *Manager) AuthenticateDevice(ctx context.Context, email, password, client, device string) ([]*store.User, error) {
	m.init()
	now := m.now()
	refund, err := m.Throttle.begin(now, client, email, m.trustedDevice(email, device, now))
	if err != nil {
		return nil, err
	}
	users, err := m.Store.UsersByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	var matched []*store.User
	checked := false
	for _, u := range users {
		if u.PasswordHash == "" {
			continue
		}
		checked = true
		if auth.CheckPassword(u.PasswordHash, password) {
			matched = append(matched, u)
		}
	}
	if !checked {
		auth.CheckPassword(dummyHash(), password)
	}
	if len(matched) == 0 {
		return nil, ErrBadCredentials
	}
	refund()
	return matched, nil
}

// newToken returns a cookie token and the hash the store keeps.
func newToken() (string, []byte) {
	var b [32]byte
	rand.Read(b[:])
	token := base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func (m *Manager) setCookie(w http.ResponseWriter, token string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    token,
		Path:     "/",
		MaxAge:   int(maxAge / time.Second),
		HttpOnly: true,
		Secure:   m.Secure,
		SameSite: http.SameSiteLaxMode,
	})
}

func (m *Manager) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: m.Secure, SameSite: http.SameSiteLaxMode,
	})
}

// Start begins a session for users (from Authenticate) and sets its
// cookie on w. One user gives a full session; several give a choosing
// session, which lasts at most ChoosingTTL, until Choose picks one.
func (m *Manager) Start(ctx context.Context, w http.ResponseWriter, users []*store.User) (*store.Session, error) {
	if len(users) == 0 {
		return nil, ErrBadCredentials
	}
	now := m.now()
	token, hash := newToken()
	s := &store.Session{TokenHash: hash, CreatedAt: now, LastSeenAt: now}
	ttl := m.ttl()
	if len(users) == 1 {
		s.UserID, s.OrgID = users[0].ID, users[0].OrgID
	} else {
		ttl = min(ttl, ChoosingTTL)
		s.Pending = true
		for _, u := range users {
			s.Candidates = append(s.Candidates, u.ID)
		}
	}
	s.ExpiresAt = now.Add(ttl)
	if err := m.Store.CreateSession(ctx, s); err != nil {
		return nil, err
	}
	m.setCookie(w, token, ttl)
	return s, nil
}

// Choice is an organization a choosing session may pick.
type Choice struct {
	OrgID   int64
	OrgName string
}

// Current is a request's session. While the person must pick an
// organization, Choices is non-empty and User and Organization are nil;
// otherwise User and Organization are the signed-in user's.
type Current struct {
	Session      *store.Session
	User         *store.User
	Organization *store.Organization
	Choices      []Choice
	// Touched says the session's expiry was slid forward by this request;
	// Refresh then sends the cookie again with a fresh Max-Age.
	Touched bool
}

// Choosing says the person must still pick an organization.
func (c *Current) Choosing() bool { return len(c.Choices) > 0 }

// Current reads the request's session, with its user and organization,
// or its choices; ErrNoSession when there is none usable. It slides the
// session's expiry, writing at most once a minute.
func (m *Manager) Current(r *http.Request) (*Current, error) {
	ctx := r.Context()
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil, ErrNoSession
	}
	now := m.now()
	s, err := m.Store.SessionByToken(ctx, hashToken(c.Value), now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSession
	} else if err != nil {
		return nil, err
	}
	cur := &Current{Session: s}
	if s.Pending {
		for _, id := range s.Candidates {
			u, err := m.Store.UserByID(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				continue // deleted since
			} else if err != nil {
				return nil, err
			}
			cur.Choices = append(cur.Choices, Choice{OrgID: u.OrgID, OrgName: u.OrgName})
		}
		if len(cur.Choices) == 0 {
			return nil, ErrNoSession
		}
		slices.SortFunc(cur.Choices, func(a, b Choice) int {
			return cmp.Or(cmp.Compare(a.OrgName, b.OrgName), cmp.Compare(a.OrgID, b.OrgID))
		})
		return cur, nil
	}
	if cur.User, err = m.Store.UserByID(ctx, s.UserID); err == nil {
		cur.Organization, err = m.Store.OrganizationByID(ctx, s.OrgID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSession
	} else if err != nil {
		return nil, err
	}
	if now.Sub(s.LastSeenAt) >= store.TouchInterval {
		exp := now.Add(m.ttl())
		if cur.Touched, err = m.Store.TouchSession(ctx, s.ID, now, exp); err != nil {
			return nil, err
		}
		if cur.Touched {
			s.LastSeenAt, s.ExpiresAt = now, exp
		}
	}
	return cur, nil
}

// Refresh sends the session cookie again with a fresh Max-Age when cur
// was touched, so that the browser's cookie slides with the session.
func (m *Manager) Refresh(w http.ResponseWriter, r *http.Request, cur *Current) {
	if cur == nil || !cur.Touched {
		return
	}
	if c, err := r.Cookie(CookieName); err == nil {
		m.setCookie(w, c.Value, cur.Session.ExpiresAt.Sub(m.now()))
	}
}

// Choose picks the organization orgID for the request's choosing session:
// the session becomes a full one for that organization's candidate user,
// under a new cookie token (the choosing token stops working).
// ErrNotAChoice when orgID is not among its choices or the session is
// not choosing; ErrNoSession when there is no session.
func (m *Manager) Choose(ctx context.Context, w http.ResponseWriter, r *http.Request, orgID int64) error {
	cur, err := m.Current(r.WithContext(ctx))
	if err != nil {
		return err
	}
	if !cur.Choosing() {
		return ErrNotAChoice
	}
	var userID int64
	for _, id := range cur.Session.Candidates {
		u, err := m.Store.UserByID(ctx, id)
		if err == nil && u.OrgID == orgID {
			userID = u.ID
			break
		}
	}
	if userID == 0 {
		return ErrNotAChoice
	}
	now := m.now()
	token, hash := newToken()
	_, err = m.Store.ChooseSessionUser(ctx, cur.Session.ID, userID, hash, now, now.Add(m.ttl()))
	if errors.Is(err, store.ErrNotFound) {
		return ErrNoSession
	} else if err != nil {
		return err
	}
	m.setCookie(w, token, m.ttl())
	return nil
}

// End signs out: it deletes the request's session, if any, and clears
// the cookie. The old cookie is refused from then on.
func (m *Manager) End(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	m.clearCookie(w)
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	// Expired or not, the row goes: look it up at the zero time.
	s, err := m.Store.SessionByToken(ctx, hashToken(c.Value), time.Time{})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	return m.Store.DeleteSession(ctx, s.ID)
}

// Prune deletes expired sessions; run it now and then (any replica).
func (m *Manager) Prune(ctx context.Context) (int64, error) {
	return m.Store.PruneSessions(ctx, m.now())
}
