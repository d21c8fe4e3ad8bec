package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/poller"
	"github.com/pollhook/pollhook/internal/store"
)

// Polls is the polling status and control the API exposes (pollhook
// extensions under /instances/{id}/polls); the job engine implements it.
type Polls interface {
	Status(ctx context.Context, inst *store.Instance) (*poller.InstanceStatus, error)
	RunNow(ctx context.Context, inst *store.Instance, resource string, backfill time.Time) (int, error)
}

func (s *Server) callerInstance(r *http.Request, p params) (*store.Instance, error) {
	id, err := s.instanceID(r, p)
	if err != nil {
		return nil, err
	}
	in, err := s.cfg.Store.Instance(r.Context(), callerOf(r).Org.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &httpError{http.StatusNotFound, "no such instance"}
	}
	return in, err
}

func (s *Server) pollStatus(w http.ResponseWriter, r *http.Request, p params) {
	in, err := s.callerInstance(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.cfg.Polls.Status(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// runPolls: POST /instances/{id}/polls/run and …/polls/{resource}/run,
// with an optional body {"backfillFrom": "<RFC 3339>"} (one resource only).
func (s *Server) runPolls(w http.ResponseWriter, r *http.Request, p params) {
	in, err := s.callerInstance(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body, err := readBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req runRequest
	if len(strings.TrimSpace(string(body))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			s.fail(w, r, &httpError{http.StatusBadRequest, "body: must be {} or {\"backfillFrom\": \"2025-01-01T00:00:00Z\"}: " + err.Error()})
			return
		}
	}
	var backfill time.Time
	if req.BackfillFrom != "" {
		if p["resource"] == "" {
			s.fail(w, r, &httpError{http.StatusBadRequest, "backfillFrom: a backfill names one resource: POST /instances/{id}/polls/{resource}/run"})
			return
		}
		if backfill, err = time.Parse(time.RFC3339, req.BackfillFrom); err != nil {
			s.fail(w, r, &httpError{http.StatusBadRequest, "backfillFrom: " + strconv.Quote(req.BackfillFrom) + " is not an RFC 3339 time like 2025-01-01T00:00:00Z"})
			return
		}
	}
	n, err := s.cfg.Polls.RunNow(r.Context(), in, p["resource"], backfill)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if n == 0 {
		msg := "the instance polls nothing (events are off, or it is disabled)"
		if p["resource"] != "" {
			msg = "the instance does not poll " + strconv.Quote(p["resource"])
		}
		s.fail(w, r, &httpError{http.StatusNotFound, msg})
		return
	}
	writeJSON(w, http.StatusAccepted, runRequested{Requested: n})
}

// runRequest is a run's optional body and runRequested its answer: named
// types, so that the OpenAPI test can hold the RunRequest and RunRequested
// schemas to what is read and written.
type runRequest struct {
	BackfillFrom string `json:"backfillFrom"` // RFC 3339
}

type runRequested struct {
	Requested int `json:"requested"` // how many resources will poll
}
