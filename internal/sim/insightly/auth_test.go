package insightly

import (
	"encoding/base64"
	"net/http"
	"testing"
)

func TestAuthEncodings(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{})
	cases := []struct {
		name   string
		header string
		want   int
	}{
		{"key and colon", "Basic " + base64.StdEncoding.EncodeToString([]byte(b.key+":")), 200},
		{"key without colon", "Basic " + base64.StdEncoding.EncodeToString([]byte(b.key)), 200},
		{"password ignored", "Basic " + base64.StdEncoding.EncodeToString([]byte(b.key+":whatever")), 200},
		{"url alphabet", "Basic " + base64.URLEncoding.EncodeToString([]byte(b.key)), 200},
		{"lower-case scheme", "basic " + base64.StdEncoding.EncodeToString([]byte(b.key+":")), 200},
		{"key not base64", "Basic " + b.key, 401},
		{"wrong key", "Basic " + base64.StdEncoding.EncodeToString([]byte("00000000-0000-0000-0000-000000000000:")), 401},
		{"bearer", "Bearer " + b.key, 401},
		{"missing", "", 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest("GET", b.srv.URL+"/v3.1/Users/Me", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("got %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

func TestUnauthorizedBody(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{})
	resp, body := b.doKey(t, "nope", "GET", "/v3.1/Contacts", nil)
	wantStatus(t, resp, body, 401)
	if got := message(t, body); got != "Authorization has been denied for this request." {
		t.Errorf("401 message = %q", got)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestUsersAndKeysPerAccount(t *testing.T) {
	t.Parallel()
	sim, b := setup(t, Config{Accounts: 2, Users: 3, Records: 5})
	accts := sim.Accounts()
	if len(accts) != 2 {
		t.Fatalf("accounts = %d", len(accts))
	}
	seen := map[string]bool{}
	for _, a := range accts {
		if len(a.Keys) != 3 {
			t.Fatalf("%s has %d keys, want 3", a.Name, len(a.Keys))
		}
		inst := b.getRecordKey(t, a.Keys[0], "/v3.1/Instance")
		if inst["INSTANCE_NAME"] != a.Name || inst["INSTANCE_SUBDOMAIN"] != a.Subdomain || inst["PLAN_NAME"] != "Professional" {
			t.Errorf("Instance for %s = %v", a.Name, inst)
		}
		for i, key := range a.Keys {
			if seen[key] {
				t.Fatalf("key %d of %s is not unique", i, a.Name)
			}
			seen[key] = true
			me := b.getRecordKey(t, key, "/v3.1/Users/Me")
			if id := idOf(t, me, "USER_ID"); id != a.UserIDs[i] {
				t.Errorf("Users/Me with key %d = %d, want %d", i, id, a.UserIDs[i])
			}
			if owner := me["ACCOUNT_OWNER"]; owner != (i == 0) {
				t.Errorf("user %d ACCOUNT_OWNER = %v", i, owner)
			}
		}
	}

	// A second key for one user answers as that user; a revoked key is 401.
	if err := sim.AddKey(accts[0].Keys[1], "extra-key"); err != nil {
		t.Fatal(err)
	}
	if id := idOf(t, b.getRecordKey(t, "extra-key", "/v3.1/Users/Me"), "USER_ID"); id != accts[0].UserIDs[1] {
		t.Errorf("extra key is user %d, want %d", id, accts[0].UserIDs[1])
	}
	sim.RevokeKey("extra-key")
	resp, body := b.doKey(t, "extra-key", "GET", "/v3.1/Users/Me", nil)
	wantStatus(t, resp, body, 401)

	// Accounts are isolated: a record made in one is not seen by the other.
	created := b.write(t, "POST", "/v3.1/Contacts", map[string]any{"LAST_NAME": "Isolated"}, 201)
	id := idOf(t, created, "CONTACT_ID")
	resp, body = b.doKey(t, accts[1].Keys[0], "GET", "/v3.1/Contacts/"+itoa(id), nil)
	wantStatus(t, resp, body, 404)
}

func (b *testBundle) getRecordKey(t *testing.T, key, path string) map[string]any {
	t.Helper()
	resp, body := b.doKey(t, key, "GET", path, nil)
	wantStatus(t, resp, body, 200)
	return decodeRecord(t, body)
}
