package insightly

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// serveControl answers the simulator's own endpoints, for tests and
// demos that drive a simulator in another process:
//
//	GET  /_sim/accounts          accounts, users and API keys
//	GET  /_sim/journal?since=N   changes with seq > N
//	PUT  /_sim/faults            replace injected faults (a Faults object)
//	PUT  /_sim/clock             {"offset": "-30s"}: skew the upstream clock
//	POST /_sim/step              {"n": 10}: apply n random changes now
//
// They need "Authorization: Bearer <Config.ControlToken>" when a token is set.
func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	if tok := s.cfg.ControlToken; tok != "" {
		got := r.Header.Get("Authorization")
		if subtle.ConstantTimeCompare([]byte(got), []byte("Bearer "+tok)) != 1 {
			s.write(w, r, errorResponse(&apiError{Status: 401, Message: "control token required"}))
			return
		}
	}
	body, err := readBody(r)
	if err != nil {
		s.write(w, r, errResponse(err))
		return
	}
	s.write(w, r, s.control(r, body))
}

func (s *Sim) control(r *http.Request, body []byte) response {
	switch r.URL.Path {
	case "/_sim/accounts":
		if r.Method != http.MethodGet {
			return methodNotAllowed(r)
		}
		return jsonResponse(200, s.Accounts())
	case "/_sim/journal":
		if r.Method != http.MethodGet {
			return methodNotAllowed(r)
		}
		since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
		changes := s.Journal(since)
		if changes == nil {
			changes = []Change{}
		}
		return jsonResponse(200, changes)
	case "/_sim/faults":
		if r.Method != http.MethodPut {
			return methodNotAllowed(r)
		}
		var f Faults
		if err := decodeStrict(body, &f); err != nil {
			return errorResponse(badRequest("faults: %v", err))
		}
		s.SetFaults(f)
		return jsonResponse(200, f)
	case "/_sim/clock":
		if r.Method != http.MethodPut {
			return methodNotAllowed(r)
		}
		var c struct {
			Offset Duration `json:"offset"`
		}
		if err := decodeStrict(body, &c); err != nil {
			return errorResponse(badRequest("clock: %v", err))
		}
		s.SetClockOffset(time.Duration(c.Offset))
		return jsonResponse(200, map[string]any{"offset": c.Offset, "now": s.Now().UTC()})
	case "/_sim/step":
		if r.Method != http.MethodPost {
			return methodNotAllowed(r)
		}
		var st struct {
			N int `json:"n"`
		}
		if err := decodeStrict(body, &st); err != nil || st.N < 1 || st.N > 100000 {
			return errorResponse(badRequest("step: n must be between 1 and 100000"))
		}
		return jsonResponse(200, s.Step(st.N))
	}
	return noResource(r)
}

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
