package store

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
)

// Snapshots are stored deflated (RFC 1951): a record's JSON repeats its
// field names and nulls, and compresses to a fraction of its size. The
// store compresses on write and inflates on read; callers see JSON.

// maxSnapshot bounds an inflated snapshot: a record larger than the
// largest answer the element accepts is not a record.
const maxSnapshot = 16 << 20

func deflate(b []byte) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func inflate(b []byte) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	out, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b)), maxSnapshot+1))
	if err != nil {
		return nil, fmt.Errorf("store: a record snapshot does not inflate: %w", err)
	}
	if len(out) > maxSnapshot {
		return nil, fmt.Errorf("store: a record snapshot inflates past %d bytes", maxSnapshot)
	}
	return out, nil
}
