package jsonschema

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	schema := []byte(`{"type":"object","required":["id","tags","user"],"properties":{
		"id":{"type":"number"},"tags":{"type":"array","items":{"type":"string"}},
		"status":{"enum":["NEW","DONE"]},
		"user":{"type":"object","required":["email"],"properties":{"email":{"type":"string"}}}}}`)
	good := `{"id": 12, "tags": ["a"], "status": "NEW", "user": {"email": "x"}}`
	if errs, err := Validate(schema, []byte(good)); err != nil || len(errs) != 0 {
		t.Errorf("valid document: %v %v", errs, err)
	}
	bad := `{"id": "12", "tags": ["a", 3], "status": "LOST", "user": {}}`
	errs, _ := Validate(schema, []byte(bad))
	want := []string{"$.id: want type number", `$.status: LOST is not one of`, "$.tags[1]: want type string", `$.user: missing required "email"`}
	if len(errs) != len(want) {
		t.Fatalf("errors %v", errs)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i], w) {
			t.Errorf("error %d = %q, want prefix %q", i, errs[i], w)
		}
	}
	if errs, _ := Validate(schema, []byte(`[]`)); len(errs) != 1 {
		t.Errorf("array for object: %v", errs)
	}
}
