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
	"slices"
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
	// Fields lists every problem found with the request's fields, in the
	// order they were found; Message is the first one's Field + ": " +
	// Message. It is empty when the refusal is not about a field (404s,
	// conflicts, a disabled instance).
	Fields []FieldError
}

// FieldError is one problem with one field of a request.
type FieldError struct {
	// Field is the dotted path of the value as the client sent it:
	// "name", "tags[2]", "element.key", "configuration." + a configuration
	// key ("configuration.event.notification.callback.url"), and below
	// event.poller.configuration the path inside it
	// ("configuration.event.poller.configuration.contacts.pageSize").
	// Configuration keys hold dots themselves, so the path cannot be split
	// back at dots; it is meant to be matched, not parsed. docs/api.md
	// gives the grammar.
	Field string `json:"field"`
	// Message says what is wrong and how to fix it; it does not repeat
	// Field.
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// HTTPStatus is the status the API answers with.
func (e *Error) HTTPStatus() int { return e.Status }

func invalid(field, format string, args ...any) *Error {
	return fieldsError(FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// fieldsError is a 400 listing fields, which must not be empty; its
// Message is the first one's.
func fieldsError(fields ...FieldError) *Error {
	return &Error{Status: http.StatusBadRequest, Message: fields[0].Field + ": " + fields[0].Message, Fields: fields}
}

// problems collects the field errors of checks that do not depend on each
// other, so that a client learns every mistake of a request at once.
type problems []FieldError

// add records err when it is a field error and returns nil; any other
// error (a server failure, a refusal not about fields) is returned for
// the caller to stop at.
func (p *problems) add(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusBadRequest && len(e.Fields) > 0 {
		*p = append(*p, e.Fields...)
		return nil
	}
	return err
}

// addNew is add for the problems of a check that ran on what earlier
// checks let through: a field already reported (a key refused, and so
// missing) is not reported again.
func (p *problems) addNew(err error) error {
	var q problems
	if err := q.add(err); err != nil {
		return err
	}
	for _, f := range q {
		if !slices.ContainsFunc(*p, func(g FieldError) bool { return g.Field == f.Field }) {
			*p = append(*p, f)
		}
	}
	return nil
}

// err is the collected problems as one 400, or nil when there are none.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return fieldsError(p...)
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
