package app

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The README's `pollhook sim insightly` starts a simulator that prints a
// base URL and an API key that work.
func TestSimInsightlyCommand(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"sim", "insightly", "--addr", "127.0.0.1:0", "--seed", "3", "--records", "40", "--churn", "50"}, w, &stderr)
		w.Close()
	}()

	var base, key, token string
	sc := bufio.NewScanner(out)
	for sc.Scan() && (base == "" || key == "" || token == "") {
		line := sc.Text()
		if m := regexp.MustCompile(`base URL\s+(\S+)`).FindStringSubmatch(line); m != nil {
			base = m[1]
		}
		if m := regexp.MustCompile(`API key\s+(\S+)\s+\(.*owner\)`).FindStringSubmatch(line); m != nil {
			key = m[1]
		}
		if m := regexp.MustCompile(`Bearer (\S+)\)`).FindStringSubmatch(line); m != nil {
			token = m[1]
		}
	}
	go io.Copy(io.Discard, out)
	if base == "" || key == "" || token == "" {
		t.Fatalf("output lacks base URL, key or control token; stderr: %s", stderr.String())
	}

	get := func(url, auth string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
	resp, body := get(base+"/Contacts/Search?top=500", basic)
	var contacts []map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(body, &contacts) != nil || len(contacts) < 30 {
		t.Fatalf("GET Contacts: %d, %d records: %.200s", resp.StatusCode, len(contacts), body)
	}

	// Churn is running: the journal grows on its own.
	ctrl := strings.TrimSuffix(base, "/v3.1") + "/_sim/journal"
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, body = get(ctrl, "Bearer "+token)
		var changes []map[string]any
		if resp.StatusCode != 200 || json.Unmarshal(body, &changes) != nil {
			t.Fatalf("journal: %d %.200s", resp.StatusCode, body)
		}
		if len(changes) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no churn within 10s at 50 changes/s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if resp, _ := get(ctrl, "Bearer wrong"); resp.StatusCode != 401 {
		t.Errorf("control without the token: %d", resp.StatusCode)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d; stderr: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("simulator did not stop on cancel")
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"nope"}, {"sim"}, {"sim", "salesforce"}, {"sim", "insightly", "--plan", "Platinum"},
		{"sim", "insightly", "--records", "-1"}, {"sim", "insightly", "--bogus"}, {"sim", "insightly", "extra"},
		{"bench"}, {"bench", "nope"}, {"bench", "delivery", "--bogus"}, {"database", "nope"}, {"database", "copy"}, {"instances", "nope"}} {
		var out, errOut strings.Builder
		if code := Run(context.Background(), args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if errOut.Len() == 0 {
			t.Errorf("%v: nothing on stderr", args)
		}
	}
	var out strings.Builder
	if code := Run(context.Background(), []string{"help"}, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "sim") {
		t.Errorf("help: %d %q", code, out.String())
	}
}
