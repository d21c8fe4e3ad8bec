package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/pollhook/pollhook/internal/store"
)

// Creates that lock the organization, count its instances and create one
// only below a limit never overshoot it, however many run at once; other
// organizations are not counted.
func testOrganizationLock(t *testing.T, s *store.Store) {
	ctx := context.Background()
	o, u := seed(t, s, "acme")
	o2, u2 := seed(t, s, "globex")
	if err := s.CreateInstance(ctx, newInstance(o2, u2, "Other")); err != nil {
		t.Fatal(err)
	}
	const limit = 3
	errFull := errors.New("full")
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := range 12 {
		wg.Go(func() {
			errs <- s.InTx(ctx, func(tx *store.Tx) error {
				if err := tx.LockOrganization(ctx, o.ID); err != nil {
					return err
				}
				n, err := tx.CountInstances(ctx, o.ID)
				if err != nil {
					return err
				}
				if n >= limit {
					return errFull
				}
				return tx.CreateInstance(ctx, newInstance(o, u, fmt.Sprintf("I%02d", i)))
			})
		})
	}
	wg.Wait()
	close(errs)
	full := 0
	for err := range errs {
		switch {
		case errors.Is(err, errFull):
			full++
		case err != nil:
			t.Errorf("create: %v", err)
		}
	}
	if n, err := s.CountInstances(ctx, o.ID); err != nil || n != limit || full != 12-limit {
		t.Errorf("%d instances (%v), %d refused; want %d and %d", n, err, full, limit, 12-limit)
	}
	if n, err := s.CountInstances(ctx, o2.ID); err != nil || n != 1 {
		t.Errorf("other organization: %d instances, %v", n, err)
	}
	err := s.InTx(ctx, func(tx *store.Tx) error { return tx.LockOrganization(ctx, 999999) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("locking a missing organization: %v", err)
	}
}

func testLongConfigValues(t *testing.T, s *store.Store) {
	ctx := context.Background()
	o, u := seed(t, s, "acme")
	var ids []int64
	for _, v := range []string{"5", "10080", "153722867280912931", "é√∂ü"} {
		in := newInstance(o, u, "I"+v)
		in.Config = append(in.Config, store.ConfigItem{Key: "event.poller.refresh_interval", Value: v})
		if err := s.CreateInstance(ctx, in); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, in.ID)
	}
	got, err := s.InstancesWithLongConfigValue(ctx, "event.poller.refresh_interval", 4)
	if want := ids[1:3]; err != nil || !slices.Equal(got, want) {
		t.Errorf("values longer than 4 characters: %v, %v; want %v", got, err, want)
	}
	if got, err := s.InstancesWithLongConfigValue(ctx, "nothing", 0); err != nil || len(got) != 0 {
		t.Errorf("a key nobody has: %v, %v", got, err)
	}
}
