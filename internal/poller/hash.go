package poller

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/pollhook/pollhook/internal/changes"
)

// Content hashes of records. A record's version is its updated date and
// its content; the content is compared by hash, so that two edits within
// one second are both seen and a re-read of the same version is not.
//
// Version 2 (current) hashes a canonical form of the record: object keys
// sorted, no insignificant whitespace, strings and numbers as written
// (1.0 and 1 differ; so would any real change). A change of key order or
// spacing upstream is therefore not an UPDATED. It is stored as one
// version byte and the SHA-256: 33 bytes.
//
// Version 1 (before 0.14) hashed the raw bytes, stored as the bare 32-byte
// SHA-256. It is still recognised, so an upgrade does not re-report every
// record in the overlap: a record whose raw bytes match a version-1 hash
// is the same version, and its state is rewritten with version 2.
const hashVersion = 2

// contentHash is the current (version 2) hash of a record's JSON. A record
// that is not valid JSON is hashed as its raw bytes under version 2's tag.
func contentHash(raw json.RawMessage) []byte {
	var b bytes.Buffer
	b.Grow(len(raw))
	if err := canonical(&b, raw); err != nil {
		b.Reset()
		b.WriteString("raw:")
		b.Write(raw)
	}
	sum := sha256.Sum256(b.Bytes())
	return append([]byte{hashVersion}, sum[:]...)
}

// sameContent tells whether a stored hash (either version) is of this
// record's content.
func sameContent(stored []byte, raw json.RawMessage, current []byte) bool {
	if len(stored) == sha256.Size { // version 1: the raw bytes
		sum := sha256.Sum256(raw)
		return bytes.Equal(stored, sum[:])
	}
	return bytes.Equal(stored, current)
}

// canonical writes raw's canonical form.
func canonical(b *bytes.Buffer, raw json.RawMessage) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("trailing data")
	}
	changes.WriteCanonical(b, v, changes.NumbersAsWritten)
	return nil
}
