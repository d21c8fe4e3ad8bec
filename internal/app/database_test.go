package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/client"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
	"github.com/pollhook/pollhook/internal/testdb"
)

// Moving from SQLite to PostgreSQL as an operator would: back up the
// SQLite file while serve runs, stop it with a notification waiting on a
// failing receiver, copy the database, start serve on PostgreSQL with
// the old key. The same secrets work, the waiting notification goes out
// with its id, nothing is sent twice, and polling carries on.
func TestDatabaseBackupAndCopyToPostgres(t *testing.T) {
	t.Parallel()
	pg := testdb.FreshSchema(t, testdb.PostgresURL(t))
	ctx := context.Background()
	s := sim.New(sim.Config{Records: 5, Seed: 5, RateLimit: -1, DailyQuota: -1})
	simSrv := httptest.NewServer(s.Handler())
	defer simSrv.Close()
	var mu sync.Mutex
	answer := 200
	hook := newHookServer(t, func() int { mu.Lock(); defer mu.Unlock(); return answer })
	setAnswer := func(code int) { mu.Lock(); answer = code; mu.Unlock() }

	dir := t.TempDir()
	fast := []string{"--allow-private-callbacks", "--allow-upstream", simSrv.Listener.Addr().String(), "--interval-unit", "1s", "--insightly-rate", "1000"}
	base, stop := runServeCommand(t, io.Discard, append([]string{"--data-dir", dir}, fast...)...)
	creds, err := readCredentials(filepath.Join(dir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	c := &client.Client{Server: base, UserSecret: creds.User, OrganizationSecret: creds.Organization}
	var inst struct {
		ID    int64
		Token string
	}
	if _, err := c.Do(ctx, "POST", "/instances", map[string]any{"element": map[string]any{"key": "insightly"}, "name": "Moving",
		"configuration": map[string]any{"username": "ada@example.com", "password": s.APIKey(), "base.url": simSrv.URL + "/v3.1",
			"event.notification.enabled": true, "event.notification.callback.url": hook.srv.URL + "/hook",
			"event.poller.refresh_interval": "1", "event.poller.configuration": `{"contacts":{"snapshots":true}}`}}, &inst); err != nil {
		t.Fatal(err)
	}
	hub := &client.Client{Server: base, UserSecret: creds.User, Element: inst.Token}
	addContact := func(c *client.Client, name string) {
		t.Helper()
		if _, err := c.Do(ctx, "POST", "/hubs/crm/contacts", map[string]any{"LAST_NAME": name}, nil); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the snapshots' baseline", func() bool {
		var st struct{ Polls []struct{ BaselineAt string } }
		_, err := c.Do(ctx, "GET", fmt.Sprintf("/instances/%d/polls", inst.ID), nil, &st)
		return err == nil && len(st.Polls) == 1 && st.Polls[0].BaselineAt != ""
	})
	addContact(hub, "Before")
	eventually(t, "the first notification", func() bool { return hook.count() == 1 })
	setAnswer(503)
	addContact(hub, "Waiting")
	eventually(t, "the refused attempt", func() bool { return hook.count() == 2 })

	// A backup while serve runs is a whole database.
	backup := filepath.Join(t.TempDir(), "backup.db")
	var out, errOut strings.Builder
	if code := Run(ctx, []string{"database", "backup", "--data-dir", dir, "--to", backup}, &out, &errOut); code != 0 {
		t.Fatalf("backup: exit %d %s%s", code, out.String(), errOut.String())
	}
	// snapshots are the record snapshots a database holds, by object id,
	// as the store reads them back (inflated): what a copy must carry.
	snapshots := func(dsn string) map[string]string {
		t.Helper()
		st, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatalf("%s does not open: %v", dsn, err)
		}
		defer st.Close()
		rows, err := st.DB().QueryContext(ctx, st.Rebind(
			`SELECT object_id FROM seen WHERE instance_id = ? AND resource = 'contacts' AND snapshot IS NOT NULL`), inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for rows.Next() {
			var id string
			rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		seen, err := st.SeenFor(ctx, inst.ID, "contacts", ids)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for id, s := range seen {
			if !json.Valid(s.Snapshot) {
				t.Errorf("%s: the snapshot of %s is not a record: %.80q", dsn, id, s.Snapshot)
			}
			out[id] = string(s.Snapshot)
		}
		return out
	}
	if b, err := store.Open(ctx, "sqlite:"+backup); err != nil {
		t.Errorf("the backup does not open: %v", err)
	} else {
		if _, err := b.InstanceByID(ctx, inst.ID); err != nil {
			t.Errorf("the backup lacks the instance: %v", err)
		}
		b.Close()
	}
	if n := len(snapshots("sqlite:" + backup)); n < 5 {
		t.Errorf("the backup carries %d record snapshots, want the baseline's (at least 5)", n)
	}
	if code := Run(ctx, []string{"database", "backup", "--data-dir", dir, "--to", backup}, io.Discard, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "does not overwrite") {
		t.Errorf("a second backup to the same file: exit %d %s", code, errOut.String())
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exit %d", code)
	}

	out.Reset()
	errOut.Reset()
	args := []string{"database", "copy", "--from", "sqlite:" + filepath.Join(dir, "pollhook.db"), "--to", pg}
	if code := Run(ctx, args, &out, &errOut); code != 0 || !strings.Contains(errOut.String(), "copied notifications") ||
		!strings.Contains(out.String(), "--encryption-key") {
		t.Fatalf("copy: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if from, to := snapshots("sqlite:"+filepath.Join(dir, "pollhook.db")), snapshots(pg); len(from) < 5 || !reflect.DeepEqual(from, to) {
		t.Errorf("record snapshots: %d in the source, %d copied, the same: %v", len(from), len(to), reflect.DeepEqual(from, to))
	}
	// The delivered notification's first-try success, kept on its row,
	// and the waiting one's refused attempt, an attempts row, are both
	// copied, under the same ids.
	from, to := histories(t, "sqlite:"+filepath.Join(dir, "pollhook.db"), inst.ID), histories(t, pg, inst.ID)
	if len(from) != 2 || fmt.Sprint(from) != fmt.Sprint(to) {
		t.Errorf("attempts: %v in the source, %v copied", from, to)
	}
	var inline, rows int
	for _, as := range from {
		for _, a := range as {
			if a.ID < 0 && a.StatusCode == 200 {
				inline++
			} else if a.ID > 0 && a.StatusCode == 503 {
				rows++
			}
		}
	}
	if inline != 1 || rows != 1 {
		t.Errorf("attempts in the source: %v; want one first-try success and one refusal", from)
	}
	errOut.Reset()
	if code := Run(ctx, args, io.Discard, &errOut); code != 1 || !strings.Contains(errOut.String(), "already holds pollhook data") {
		t.Errorf("a second copy: exit %d %s", code, errOut.String())
	}

	setAnswer(200)
	key, _ := os.ReadFile(filepath.Join(dir, "encryption.key"))
	base, stop = runServeCommand(t, io.Discard, append([]string{"--data-dir", t.TempDir(), "--database", pg,
		"--encryption-key", strings.TrimSpace(string(key))}, fast...)...)
	defer stop()
	c.Server, hub.Server = base, base
	var got struct{ Name string }
	if _, err := c.Do(ctx, "GET", fmt.Sprintf("/instances/%d", inst.ID), nil, &got); err != nil || got.Name != "Moving" {
		t.Fatalf("the instance on PostgreSQL: %+v %v", got, err)
	}
	eventually(t, "the waiting notification", func() bool { return hook.count() == 3 })
	addContact(hub, "After")
	eventually(t, "a change made after the move", func() bool { return hook.count() == 4 })

	hook.mu.Lock()
	defer hook.mu.Unlock()
	var ids, counts []string
	for i, h := range hook.heads {
		ids = append(ids, h.Get("Elements-Webhook-Id"))
		var env struct {
			Message struct{ Events []json.RawMessage }
		}
		json.Unmarshal(hook.bodies[i], &env)
		counts = append(counts, fmt.Sprint(len(env.Message.Events)))
	}
	if ids[1] != ids[2] || ids[0] == ids[1] || ids[3] == ids[1] || ids[3] == ids[0] {
		t.Errorf("notification ids %v: want the refused one sent again and the others distinct", ids)
	}
	if strings.Join(counts, ",") != "1,1,1,1" {
		t.Errorf("events per notification: %v", counts)
	}
}

// histories lists the attempts of an instance's notifications in the
// database at dsn, by notification id, times to the microsecond (what
// PostgreSQL keeps).
func histories(t *testing.T, dsn string, instanceID int64) map[string][]store.Attempt {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	in, err := st.InstanceByID(ctx, instanceID)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := st.Notifications(ctx, in.OrgID, store.NotificationFilter{InstanceID: instanceID})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]store.Attempt{}
	for _, n := range ns {
		as, err := st.Attempts(ctx, n.Seq)
		if err != nil {
			t.Fatal(err)
		}
		for i := range as {
			as[i].At = as[i].At.UTC().Truncate(time.Microsecond)
		}
		out[n.ID] = as
	}
	return out
}
