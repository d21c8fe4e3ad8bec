package store

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"sync"
)

// Snapshots are stored deflated (RFC 1951): a record's JSON repeats its
// field names and nulls, and compresses to under half its size. The store
// compresses on write and inflates on read; callers see JSON. Writers
// and readers are pooled: a flate writer's state is large to allocate.

// maxSnapshot bounds an inflated snapshot: a record larger than the
// largest answer the element accepts is not a record.
const maxSnapshot = 16 << 20

var (
	writers = sync.Pool{New: func() any { w, _ := flate.NewWriter(nil, flate.BestSpeed); return w }}
	readers = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}
)

func deflate(b []byte) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	w := writers.Get().(*flate.Writer)
	defer writers.Put(w)
	w.Reset(&buf)
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
	r := readers.Get().(io.ReadCloser)
	defer readers.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(b), nil); err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(r, maxSnapshot+1))
	if err != nil {
		return nil, fmt.Errorf("store: a record snapshot does not inflate: %w", err)
	}
	if len(out) > maxSnapshot {
		return nil, fmt.Errorf("store: a record snapshot inflates past %d bytes", maxSnapshot)
	}
	return out, nil
}
