package delivery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"
)

// Sign sets the signature headers of a notification body:
//
//   - Cloud Elements': Elements-Webhook-Id, and Elements-Webhook-Signature
//     "sha256=" + base64(HMAC-SHA256(key, body)) (spec §4.3);
//   - Standard Webhooks': webhook-id, webhook-timestamp and webhook-signature
//     "v1," + base64(HMAC-SHA256(key, id.timestamp.body)), which any Standard
//     Webhooks library verifies with the secret StandardSecret(key).
//
// The key is event.notification.signature.key, used as bytes.
func Sign(h http.Header, key, id string, body []byte, at time.Time) {
	h.Set("Elements-Webhook-Id", id)
	h.Set("Elements-Webhook-Signature", ElementsSignature(key, body))
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

// ElementsSignature is the Elements-Webhook-Signature value for body.
func ElementsSignature(key string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return "sha256=" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// StandardSecret is the Standard Webhooks secret for a signature key.
func StandardSecret(key string) string {
	return "whsec_" + base64.StdEncoding.EncodeToString([]byte(key))
}
