package insightly

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// apiError is an HTTP error the simulator answers with Insightly's
// (ASP.NET Web API) {"Message": …} body.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Message) }

func badRequest(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// merge applies a POST or PUT body onto base (nil when creating) and returns
// the new record. Keys present replace, null clears, absent keys stay: the
// v3.1 partial-PUT semantics. CUSTOMFIELDS merge by FIELD_NAME; the other
// arrays are replaced whole. Unknown and read-only keys are ignored, as the
// ASP.NET model binder does. The result is not yet stamped with dates.
func (a *account) merge(o *object, base record, body map[string]any, caller int64) (record, error) {
	creating := base == nil
	rec := base.clone()
	if creating {
		// Every field is present, null or [] when unset, as GET shows it.
		rec = make(record, len(o.Fields))
		for _, f := range o.Fields {
			rec[f.Name] = nil
			if f.Kind == kindArray {
				rec[f.Name] = []any{}
			}
		}
	}
	// Property names match case-insensitively, as JSON.NET binds them
	// (Cloud Elements' own tests create contacts with "last_name").
	folded := make(map[string]any, len(body))
	for k, v := range body {
		folded[strings.ToUpper(k)] = v
	}
	// Schema order, not map order: sub-record IDs are handed out in a
	// reproducible sequence.
	for _, f := range o.Fields {
		v, ok := body[f.Name]
		if !ok {
			v, ok = folded[strings.ToUpper(f.Name)]
		}
		if !ok || readOnly[f.Name] || f.Name == o.PK {
			continue
		}
		val, err := a.checkValue(o, f, v, rec)
		if err != nil {
			return nil, err
		}
		rec[f.Name] = val
	}
	if creating {
		if len(o.Required) > 0 && !slices.ContainsFunc(o.Required, func(k string) bool {
			s, _ := rec[k].(string)
			return strings.TrimSpace(s) != ""
		}) {
			return nil, badRequest("%s is required.", strings.Join(o.Required, " or "))
		}
		if _, ok := o.field("OWNER_USER_ID"); ok && rec["OWNER_USER_ID"] == nil {
			rec["OWNER_USER_ID"] = caller
		}
		if _, ok := o.field("EMAIL_OPTED_OUT"); ok && rec["EMAIL_OPTED_OUT"] == nil {
			rec["EMAIL_OPTED_OUT"] = false
		}
		if _, ok := o.field("VISIBLE_TO"); ok && rec["VISIBLE_TO"] == nil {
			rec["VISIBLE_TO"] = "EVERYONE"
		}
	}
	return rec, nil
}

func (a *account) checkValue(o *object, f field, v any, rec record) (any, error) {
	if v == nil {
		if f.Kind == kindArray {
			return []any{}, nil
		}
		return nil, nil
	}
	wrong := func(want string) error {
		return badRequest("Data validation error: %s must be %s.", f.Name, want)
	}
	switch f.Kind {
	case kindString:
		s, ok := v.(string)
		if !ok {
			return nil, wrong("a string")
		}
		if allowed, ok := o.Enums[f.Name]; ok {
			i := slices.IndexFunc(allowed, func(e string) bool { return strings.EqualFold(e, s) })
			if i < 0 {
				return nil, badRequest("Data validation error: %s must be one of %s.", f.Name, strings.Join(allowed, ", "))
			}
			return allowed[i], nil
		}
		return s, nil
	case kindInt:
		n, ok := asInt(v)
		if !ok {
			return nil, wrong("an integer")
		}
		if err := a.checkReference(f.Name, n); err != nil {
			return nil, err
		}
		return n, nil
	case kindNumber:
		switch n := v.(type) {
		case int64:
			return float64(n), nil
		case float64:
			return n, nil
		}
		return nil, wrong("a number")
	case kindBool:
		b, ok := v.(bool)
		if !ok {
			return nil, wrong("true or false")
		}
		return b, nil
	case kindDate:
		s, ok := v.(string)
		if !ok {
			return nil, wrong(`a date "yyyy-MM-dd HH:mm:ss"`)
		}
		if _, err := time.Parse(dateLayout, s); err != nil {
			return nil, wrong(`a date "yyyy-MM-dd HH:mm:ss"`)
		}
		return s, nil
	case kindArray:
		list, ok := v.([]any)
		if !ok {
			return nil, wrong("an array")
		}
		return a.checkArray(o, f.Name, list, rec)
	}
	return nil, wrong("valid")
}

// checkReference refuses IDs of users and organisations that do not exist
// (spec §9: "Referencing an ID that does not exist gives a 400").
func (a *account) checkReference(name string, id int64) error {
	switch name {
	case "OWNER_USER_ID", "RESPONSIBLE_USER_ID":
		if a.userByID(id) == nil {
			return badRequest("Data validation error: %s %d is not a user of this instance.", name, id)
		}
	case "ORGANISATION_ID":
		if a.coll("Organisations").latest(id) == nil {
			return badRequest("Data validation error: ORGANISATION_ID %d does not exist.", id)
		}
	}
	return nil
}

func (a *account) checkArray(o *object, name string, list []any, rec record) (any, error) {
	elems := make([]map[string]any, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, badRequest("Data validation error: %s[%d] must be an object.", name, i)
		}
		elems[i] = m
	}
	switch name {
	case "CUSTOMFIELDS":
		return a.mergeCustomFields(o, rec["CUSTOMFIELDS"], elems)
	case "TAGS":
		out := make([]any, 0, len(elems))
		for i, m := range elems {
			tag, _ := m["TAG_NAME"].(string)
			if strings.TrimSpace(tag) == "" {
				return nil, badRequest("Data validation error: TAGS[%d].TAG_NAME is required.", i)
			}
			out = append(out, map[string]any{"TAG_NAME": tag})
		}
		return out, nil
	case "LINKS":
		out := make([]any, 0, len(elems))
		for i, m := range elems {
			target, _ := m["LINK_OBJECT_NAME"].(string)
			tid, ok := asInt(m["LINK_OBJECT_ID"])
			if target == "" || !ok {
				return nil, badRequest("Data validation error: LINKS[%d] needs LINK_OBJECT_NAME and LINK_OBJECT_ID.", i)
			}
			link := map[string]any{"LINK_ID": m["LINK_ID"], "OBJECT_NAME": o.Singular, "OBJECT_ID": rec[o.PK],
				"LINK_OBJECT_NAME": target, "LINK_OBJECT_ID": tid, "ROLE": m["ROLE"], "DETAILS": m["DETAILS"],
				"RELATIONSHIP_ID": m["RELATIONSHIP_ID"], "IS_FORWARD": m["IS_FORWARD"]}
			if _, ok := asInt(link["LINK_ID"]); !ok {
				link["LINK_ID"] = a.nextSubID()
			}
			out = append(out, link)
		}
		return out, nil
	case "DATES":
		out := make([]any, 0, len(elems))
		for i, m := range elems {
			d, _ := m["OCCASION_DATE"].(string)
			if _, err := time.Parse(dateLayout, d); err != nil {
				return nil, badRequest(`Data validation error: DATES[%d].OCCASION_DATE must be "yyyy-MM-dd HH:mm:ss".`, i)
			}
			id, ok := asInt(m["DATE_ID"])
			if !ok {
				id = a.nextSubID()
			}
			out = append(out, map[string]any{"DATE_ID": id, "OCCASION_NAME": m["OCCASION_NAME"], "OCCASION_DATE": d,
				"REPEAT_YEARLY": m["REPEAT_YEARLY"] == true, "CREATE_TASK_YEARLY": m["CREATE_TASK_YEARLY"] == true})
		}
		return out, nil
	case "EMAILDOMAINS":
		out := make([]any, 0, len(elems))
		for i, m := range elems {
			d, _ := m["EMAIL_DOMAIN"].(string)
			if d == "" {
				return nil, badRequest("Data validation error: EMAILDOMAINS[%d].EMAIL_DOMAIN is required.", i)
			}
			id, ok := asInt(m["EMAIL_DOMAIN_ID"])
			if !ok {
				id = a.nextSubID()
			}
			out = append(out, map[string]any{"EMAIL_DOMAIN_ID": id, "EMAIL_DOMAIN": d})
		}
		return out, nil
	default:
		return nil, badRequest("Data validation error: %s is read-only.", name)
	}
}

// mergeCustomFields merges the given entries into the record's current ones
// by FIELD_NAME (how a partial list merges is unknown upstream; merging is
// the least surprising choice and is documented).
func (a *account) mergeCustomFields(o *object, current any, elems []map[string]any) (any, error) {
	defs := a.customFields[o.Name]
	cur, _ := current.([]any)
	out := cloneValue(cur).([]any)
	if out == nil {
		out = []any{}
	}
	for i, m := range elems {
		name, _ := m["FIELD_NAME"].(string)
		if name == "" {
			name, _ = m["CUSTOM_FIELD_ID"].(string)
		}
		di := slices.IndexFunc(defs, func(d CustomField) bool { return strings.EqualFold(d.Name, name) })
		if di < 0 {
			return nil, badRequest("Data validation error: CUSTOMFIELDS[%d]: %q is not a custom field of %s.", i, name, o.Name)
		}
		def := defs[di]
		val, err := checkCustomValue(def, m["FIELD_VALUE"])
		if err != nil {
			return nil, err
		}
		entry := map[string]any{"FIELD_NAME": def.Name, "FIELD_VALUE": val, "CUSTOM_FIELD_ID": def.Name}
		j := slices.IndexFunc(out, func(e any) bool { return e.(map[string]any)["FIELD_NAME"] == def.Name })
		if j >= 0 {
			out[j] = entry
		} else {
			out = append(out, entry)
		}
	}
	return out, nil
}

func checkCustomValue(def CustomField, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	wrong := func(want string) error {
		return badRequest("Data validation error: custom field %s (%s) must be %s.", def.Name, def.Type, want)
	}
	switch def.Type {
	case "BIT":
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, wrong("true or false")
	case "NUMERIC", "PERCENT":
		switch n := v.(type) {
		case int64:
			return n, nil
		case float64:
			return n, nil
		}
		return nil, wrong("a number")
	case "DATE", "DATETIME":
		s, _ := v.(string)
		if _, err := time.Parse(dateLayout, s); err != nil {
			return nil, wrong(`a date "yyyy-MM-dd HH:mm:ss"`)
		}
		return s, nil
	case "DROPDOWN":
		s, ok := v.(string)
		if !ok || !slices.Contains(def.Options, s) {
			return nil, wrong("one of " + strings.Join(def.Options, ", "))
		}
		return s, nil
	case "MULTISELECT":
		s, ok := v.(string)
		if !ok {
			return nil, wrong(`a ";"-joined string`)
		}
		for opt := range strings.SplitSeq(s, ";") {
			if opt != "" && !slices.Contains(def.Options, opt) {
				return nil, wrong("made of " + strings.Join(def.Options, ", "))
			}
		}
		return s, nil
	default:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, wrong("a string")
	}
}
