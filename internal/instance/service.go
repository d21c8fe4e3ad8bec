// Package instance manages element instances: it validates what clients
// send before anything is stored, keeps secrets sealed, masks them in
// every answer, and tells the scheduler what changed, in the same
// transaction.
package instance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/seal"
	"github.com/pollhook/pollhook/internal/store"
)

// Scheduler is told about every instance change inside the transaction
// that makes it, so schedules and instances can never disagree. The poller
// implements it with the job engine; it must not import this package.
type Scheduler interface {
	// InstanceSaved: created, or any of events on/off, interval,
	// resources, enabled/disabled, credentials changed.
	InstanceSaved(ctx context.Context, tx *store.Tx, in *store.Instance) error
	// InstanceDeleted: the instance is gone.
	InstanceDeleted(ctx context.Context, tx *store.Tx, in *store.Instance) error
}

// NoScheduler schedules nothing.
type NoScheduler struct{}

// InstanceSaved does nothing.
func (NoScheduler) InstanceSaved(context.Context, *store.Tx, *store.Instance) error { return nil }

// InstanceDeleted does nothing.
func (NoScheduler) InstanceDeleted(context.Context, *store.Tx, *store.Instance) error { return nil }

// Resolver looks up callback hosts; *net.Resolver satisfies it.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Service is the instance API's logic.
type Service struct {
	Store     *store.Store
	Elements  *element.Registry
	Keys      *seal.Keyring
	Scheduler Scheduler
	// AllowPrivateCallbacks accepts callback URLs on loopback and private
	// networks: for tests and the demo, never for production.
	AllowPrivateCallbacks bool
	Resolver              Resolver
	// VerifyTimeout bounds the credential check against the upstream.
	VerifyTimeout time.Duration
	// Limits bound resources and keys per instance and instances per
	// organization (see limits.go).
	Limits
}

// Error is a refusal with the HTTP status to answer and a message that
// names the field and the problem.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

// HTTPStatus is the status the API answers with.
func (e *Error) HTTPStatus() int { return e.Status }

func invalid(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Message: field + ": " + fmt.Sprintf(format, args...)}
}

var errNotFound = &Error{Status: http.StatusNotFound, Message: "no such instance"}

// Caller is who is asking: authenticated by the API layer.
type Caller struct {
	Org  *store.Organization
	User *store.User
}

func (s *Service) scheduler() Scheduler {
	if s.Scheduler == nil {
		return NoScheduler{}
	}
	return s.Scheduler
}

func (s *Service) resolver() Resolver {
	if s.Resolver == nil {
		return net.DefaultResolver
	}
	return s.Resolver
}

// load reads an instance of the caller's organization.
func (s *Service) load(ctx context.Context, q interface {
	Instance(context.Context, int64, int64) (*store.Instance, error)
}, c Caller, id int64) (*store.Instance, error) {
	in, err := q.Instance(ctx, c.Org.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound
	}
	return in, err
}

// ByToken finds the instance an Element token names, within the
// caller's organization (token-scoped endpoints and hub calls).
func (s *Service) ByToken(ctx context.Context, orgID int64, token string) (*store.Instance, error) {
	in, err := s.Store.InstanceByToken(ctx, auth.Hash(token))
	if errors.Is(err, store.ErrNotFound) || (err == nil && orgID != 0 && in.OrgID != orgID) {
		return nil, &Error{Status: http.StatusUnauthorized, Message: "the Element token matches no instance"}
	}
	return in, err
}
