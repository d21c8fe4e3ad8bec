package session

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"time"
)

// Device cookies mark a browser that has signed in to an account before
// (OWASP's "device cookie" design): such a browser is exempt from the
// account-wide sign-in budget, so a flood of failures from elsewhere
// cannot keep the account's owner out. It keeps its own per-device
// budget, so a stolen cookie is no free pass.
//
// The value is base64url(id | issued | mac): 16 random bytes naming the
// device, the issue time in Unix seconds (8 bytes, big-endian), and
// HMAC-SHA256 under Manager.DeviceKey of the account (the lowercased
// e-mail address), id and issued. Any replica with the same key checks it
// without the database, and the account is not readable from it. A key
// rotation (a new current encryption key) voids every device cookie:
// browsers fall back to the account-wide budget until they sign in again.
const (
	DeviceCookieName = "pollhook_device"
	DeviceTTL        = 365 * 24 * time.Hour
	// DeviceKeyPurpose is what the server derives Manager.DeviceKey for
	// (seal.Keyring.Derive).
	DeviceKeyPurpose = "pollhook console device cookie"
)

const deviceLen = 16 + 8 + sha256.Size

func (m *Manager) deviceMAC(email string, idIssued []byte) []byte {
	h := hmac.New(sha256.New, m.DeviceKey)
	h.Write([]byte(account(email)))
	h.Write([]byte{0})
	h.Write(idIssued)
	return h.Sum(nil)
}

// DeviceCookie is the request's device cookie value, or "" (pass it to
// AuthenticateDevice).
func DeviceCookie(r *http.Request) string {
	if c, err := r.Cookie(DeviceCookieName); err == nil {
		return c.Value
	}
	return ""
}

// trustedDevice returns the id of cookie when it is a device cookie this
// key issued for email's account less than DeviceTTL ago, or "".
func (m *Manager) trustedDevice(email, cookie string, now time.Time) string {
	if len(m.DeviceKey) == 0 || cookie == "" {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(cookie)
	if err != nil || len(b) != deviceLen {
		return ""
	}
	if !hmac.Equal(b[24:], m.deviceMAC(email, b[:24])) {
		return ""
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[16:24])), 0)
	// A few minutes' grace for replicas whose clocks differ.
	if issued.After(now.Add(5*time.Minute)) || now.Sub(issued) > DeviceTTL {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b[:16])
}

// RememberDevice sets a new device cookie for email's account on w; call
// it after a successful sign-in (each one renews it for DeviceTTL). It
// does nothing when the Manager has no DeviceKey.
func (m *Manager) RememberDevice(w http.ResponseWriter, email string) {
	if len(m.DeviceKey) == 0 {
		return
	}
	b := make([]byte, 24, deviceLen)
	rand.Read(b[:16])
	binary.BigEndian.PutUint64(b[16:24], uint64(m.now().Unix()))
	b = append(b, m.deviceMAC(email, b)...)
	http.SetCookie(w, &http.Cookie{
		Name:     DeviceCookieName,
		Value:    base64.RawURLEncoding.EncodeToString(b),
		Path:     "/",
		MaxAge:   int(DeviceTTL / time.Second),
		HttpOnly: true,
		Secure:   m.Secure,
		SameSite: http.SameSiteLaxMode,
	})
}
