package instance

import (
	"context"
	"errors"
	"strings"

	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/store"
)

// upstreamRefused starts the invalid reason of an instance whose stored
// upstream URL the server does not allow (any more).
const upstreamRefused = "the server does not allow this instance's upstream URL: "

// MarkUpstreamRefused marks an instance invalid because its stored
// upstream URL is not allowed (err matches element.ErrUpstreamNotAllowed),
// with a reason that says so; it is not dialled until it changes or the
// operator allows the URL.
func (s *Service) MarkUpstreamRefused(ctx context.Context, inst *store.Instance, err error) error {
	reason := upstreamRefused + messageOf(err)
	if !inst.Valid && inst.InvalidReason == reason {
		return nil
	}
	inst.Valid, inst.InvalidReason = false, reason
	return s.Store.SetInstanceValid(ctx, inst.ID, false, reason)
}

// UpstreamAllowedAgain revalidates an instance that was invalid only
// because its upstream URL was not allowed, once it is (the operator
// added it to --allow-upstream). It makes no request.
func (s *Service) UpstreamAllowedAgain(ctx context.Context, inst *store.Instance) bool {
	if inst.Valid || !strings.HasPrefix(inst.InvalidReason, upstreamRefused) {
		return inst.Valid
	}
	if _, err := s.Open(inst); err != nil {
		return false
	}
	if err := s.Store.SetInstanceValid(ctx, inst.ID, true, ""); err != nil {
		return false
	}
	inst.Valid, inst.InvalidReason = true, ""
	return true
}

// SweepResult counts what Sweep changed.
type SweepResult struct {
	Checked, Refused, Allowed, Resealed int
}

// Sweep checks every stored instance against this server's rules, once
// at start: an instance whose upstream URL is not allowed (after an
// upgrade, or a change of --allow-upstream) is marked invalid and never
// dialled, one refused before and allowed now is valid again, and secret
// values stored in clear by an earlier version (callback headers) are
// sealed.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	orgs, err := s.Store.Organizations(ctx)
	if err != nil {
		return res, err
	}
	for _, org := range orgs {
		list, err := s.Store.Instances(ctx, org.ID, store.InstanceFilter{})
		if err != nil {
			return res, err
		}
		for _, inst := range list {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			res.Checked++
			if n, err := s.reseal(ctx, inst); err != nil {
				return res, err
			} else if n > 0 {
				res.Resealed++
			}
			_, err := s.Open(inst)
			wasRefused := !inst.Valid && strings.HasPrefix(inst.InvalidReason, upstreamRefused)
			switch {
			case errors.Is(err, element.ErrUpstreamNotAllowed):
				if !wasRefused {
					res.Refused++
				}
				if err := s.MarkUpstreamRefused(ctx, inst, err); err != nil {
					return res, err
				}
			case err == nil && wasRefused && s.UpstreamAllowedAgain(ctx, inst):
				res.Allowed++
			}
		}
	}
	return res, nil
}

// reseal seals configuration values that should be secret but were
// stored in clear, and reports how many it sealed.
func (s *Service) reseal(ctx context.Context, inst *store.Instance) (int, error) {
	el, err := s.elementOf(inst)
	if err != nil {
		return 0, nil
	}
	n := 0
	for i, it := range inst.Config {
		if !it.Secret && isSecret(el, it.Key) {
			inst.Config[i].Value, inst.Config[i].Secret = s.Keys.Seal(it.Value, configContext(it.Key)), true
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	return n, s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateInstance(ctx, inst) })
}
