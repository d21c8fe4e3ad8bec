package insightly

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/element/ceql"
)

// Pseudo-fields of the Insightly element's CEQL: they name Insightly's
// query parameters rather than record fields.
const (
	// updated_after_utc='…' selects DATE_UPDATED_UTC after the time (the
	// documented Insightly poller URL uses it).
	fieldUpdatedAfter = "updated_after_utc"
	// tag='…' selects records carrying the tag.
	fieldTag = "tag"
)

// plan is a where clause split into what Insightly filters (one parameter
// at most per request) and what pollhook evaluates on the records it
// fetched. Evaluating the rest locally, rather than refusing it, keeps every
// documented CEQL operator usable; the pushed-down filter keeps the reads
// small, and a query with nothing to push down is bounded by scanLimit.
type plan struct {
	query Query
	// residual is evaluated on each fetched record; nil when the pushed-down
	// filter alone is exact.
	residual ceql.Expr
}

// planWhere builds the plan for a parsed where clause (nil: everything).
func planWhere(where ceql.Expr) (plan, error) {
	if where == nil {
		return plan{}, nil
	}
	residual, err := rewrite(where)
	if err != nil {
		return plan{}, err
	}
	var p plan
	var after time.Time
	var field, tag *ceql.Compare
	exact := 0 // conjuncts the chosen push-down renders exactly
	conj := ceql.Conjuncts(where)
	for _, c := range conj {
		cmp, ok := c.(*ceql.Compare)
		if !ok {
			continue
		}
		switch strings.ToLower(cmp.Field) {
		case fieldUpdatedAfter:
			t, _ := queryTime(cmp.Value) // rewrite checked it
			if cmp.Op == ceql.Ge {
				t = t.Add(-time.Second)
			}
			after = maxTime(after, t)
		case "date_updated_utc":
			if t, ok := queryTime(cmp.Value); ok && (cmp.Op == ceql.Gt || cmp.Op == ceql.Ge) {
				after = maxTime(after, t.Add(-time.Second))
			}
		case fieldTag:
			if cmp.Op == ceql.Eq && cmp.Value.Kind == ceql.String && tag == nil {
				tag = cmp
			}
		default:
			if cmp.Op == ceql.Eq && field == nil && !strings.Contains(cmp.Field, ".") {
				field = cmp
			}
		}
	}
	switch {
	case !after.IsZero():
		p.query.UpdatedAfter = after
		// updated_after_utc maps onto the parameter exactly; a clause made
		// of nothing else needs no local evaluation.
		for _, c := range conj {
			if cmp, ok := c.(*ceql.Compare); ok && strings.EqualFold(cmp.Field, fieldUpdatedAfter) && cmp.Op != ceql.Ge {
				exact++
			}
		}
	case field != nil:
		p.query.FieldName, p.query.FieldValue = field.Field, field.Value.Text()
		exact = 1
	case tag != nil:
		p.query.Tag = tag.Value.Str
		exact = 1
	}
	if exact < len(conj) {
		p.residual = residual
	}
	return p, nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// rewrite replaces the updated_after_utc pseudo-field by the predicate on
// DATE_UPDATED_UTC it means, so the clause can be evaluated on records,
// and refuses operators the pseudo-fields do not support.
func rewrite(e ceql.Expr) (ceql.Expr, error) {
	switch e := e.(type) {
	case *ceql.And:
		terms, err := rewriteAll(e.Terms)
		return &ceql.And{Terms: terms}, err
	case *ceql.Or:
		terms, err := rewriteAll(e.Terms)
		return &ceql.Or{Terms: terms}, err
	case *ceql.Not:
		x, err := rewrite(e.X)
		return &ceql.Not{X: x}, err
	case *ceql.Compare:
		if !strings.EqualFold(e.Field, fieldUpdatedAfter) {
			return e, nil
		}
		t, ok := queryTime(e.Value)
		if !ok {
			return nil, invalidWhere("%s: %s is not a date-time like '2018-02-21 07:31:45' or '2018-02-21T07:31:45Z'", e, e.Value)
		}
		op := ceql.Gt
		switch e.Op {
		case ceql.Eq, ceql.Gt:
		case ceql.Ge:
			op = ceql.Ge
		default:
			return nil, invalidWhere("%s: %s selects records updated after a time; use =, > or >=", e, fieldUpdatedAfter)
		}
		return &ceql.Compare{Field: "DATE_UPDATED_UTC", Op: op, Value: ceql.StringValue(t.Format(time.DateTime))}, nil
	case *ceql.Like:
		return e, checkPseudo(e, e.Field)
	case *ceql.In:
		return e, checkPseudo(e, e.Field)
	case *ceql.IsNull:
		return e, checkPseudo(e, e.Field)
	}
	return e, nil
}

func rewriteAll(terms []ceql.Expr) ([]ceql.Expr, error) {
	out := make([]ceql.Expr, len(terms))
	for i, t := range terms {
		var err error
		if out[i], err = rewrite(t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func checkPseudo(e ceql.Expr, field string) error {
	if strings.EqualFold(field, fieldUpdatedAfter) {
		return invalidWhere("%s: %s supports only =, > and >=", e, fieldUpdatedAfter)
	}
	return nil
}

func invalidWhere(format string, args ...any) error {
	return element.Errorf(http.StatusBadRequest, "where: "+format, args...)
}

var queryTimeLayouts = []string{time.DateTime, time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999", time.DateOnly}

// queryTime reads a date-time literal: the layouts CE users write, as UTC
// unless zoned, or a number of epoch milliseconds (what ${epoch} renders).
func queryTime(v ceql.Value) (time.Time, bool) {
	switch v.Kind {
	case ceql.Number:
		if v.Num > 0 {
			return time.UnixMilli(int64(v.Num)).UTC(), true
		}
	case ceql.String:
		for _, layout := range queryTimeLayouts {
			if t, err := time.Parse(layout, strings.TrimSpace(v.Str)); err == nil {
				return t.UTC(), true
			}
		}
	}
	return time.Time{}, false
}

// matches evaluates the residual clause on a record. The tag pseudo-field
// reads the record's tag names.
func (p plan) matches(r *element.Record) (bool, error) {
	if p.residual == nil {
		return true, nil
	}
	ok, err := ceql.Eval(p.residual, func(field string) (any, bool) {
		if strings.EqualFold(field, fieldTag) {
			tags, _ := r.Lookup("TAGS")
			list, _ := tags.([]any)
			names := make([]any, 0, len(list))
			for _, t := range list {
				if m, ok := t.(map[string]any); ok {
					names = append(names, m["TAG_NAME"])
				}
			}
			return names, true
		}
		return lookup(r, field)
	})
	if errors.Is(err, ceql.ErrType) {
		return false, invalidWhere("%v", err)
	}
	return ok, err
}
