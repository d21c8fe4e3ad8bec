package delivery

import "sync"

// wakers lets a commit in this process wake the delivery run holding its
// callback at once.
type wakers struct {
	mu sync.Mutex
	ch map[int64]chan struct{}
}

func (w *wakers) signal(callbackID int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case w.ch[callbackID] <- struct{}{}:
	default:
	}
}

// listen registers for a callback's signals until the returned func runs.
func (w *wakers) listen(callbackID int64) (<-chan struct{}, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = map[int64]chan struct{}{}
	}
	c := make(chan struct{}, 1)
	w.ch[callbackID] = c
	return c, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.ch[callbackID] == c {
			delete(w.ch, callbackID)
		}
	}
}
