package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pollhook/pollhook/internal/client"
)

// clientFlags are the flags every client command shares: which server,
// and whose secrets. Secrets are best given through the environment or
// the credentials file: flags show in the process list.
type clientFlags struct {
	server, user, org, credentials string
	json                           bool
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", env("POLLHOOK_SERVER", "http://127.0.0.1:8080"), "the pollhook server's URL ($POLLHOOK_SERVER)")
	fs.StringVar(&c.user, "user-secret", "", "the user secret (default $POLLHOOK_USER_SECRET, else the credentials file)")
	fs.StringVar(&c.org, "organization-secret", "", "the organization secret (default $POLLHOOK_ORGANIZATION_SECRET, else the credentials file)")
	fs.StringVar(&c.credentials, "credentials", env("POLLHOOK_CREDENTIALS", filepath.Join(env("POLLHOOK_DATA_DIR", defaultDataDir()), "credentials")),
		"a credentials file as `pollhook serve` writes it ($POLLHOOK_CREDENTIALS)")
	fs.BoolVar(&c.json, "json", false, "print the server's JSON instead of a table")
}

// client resolves the secrets: flags, then the environment, then the file.
func (c *clientFlags) client() (*client.Client, error) {
	user, org := cmp.Or(c.user, os.Getenv("POLLHOOK_USER_SECRET")), cmp.Or(c.org, os.Getenv("POLLHOOK_ORGANIZATION_SECRET"))
	if user == "" || org == "" {
		creds, err := readCredentials(c.credentials)
		if err != nil {
			return nil, fmt.Errorf("no secrets: set POLLHOOK_USER_SECRET and POLLHOOK_ORGANIZATION_SECRET, or --credentials (%v)", err)
		}
		user, org = cmp.Or(user, creds.User), cmp.Or(org, creds.Organization)
	}
	return &client.Client{Server: c.server, UserSecret: user, OrganizationSecret: org}, nil
}

// subcommand runs `pollhook <group> <verb>`.
type subcommand struct {
	verb, args, summary string
	run                 func(ctx context.Context, c *client.Client, cf *clientFlags, fs *flag.FlagSet, stdout, stderr io.Writer) error
	flags               func(fs *flag.FlagSet)
}

func runGroup(group string, subs []subcommand) func(context.Context, []string, io.Writer, io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		groupUsage := func(w io.Writer) {
			fmt.Fprintf(w, "Usage: pollhook %s <command> [flags]\n\nCommands:\n", group)
			for _, s := range subs {
				fmt.Fprintf(w, "  %-28s %s\n", s.verb+" "+s.args, s.summary)
			}
			fmt.Fprintf(w, "\nRun 'pollhook %s <command> -h' for its flags.\n", group)
		}
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			groupUsage(stdout)
			return nil
		}
		for _, s := range subs {
			if s.verb != args[0] {
				continue
			}
			name := "pollhook " + group + " " + s.verb
			fs := flag.NewFlagSet(name, flag.ContinueOnError)
			fs.SetOutput(stderr)
			fs.Usage = func() {
				fmt.Fprintf(stderr, "Usage: %s %s\n\n%s.\n\nFlags:\n", name, s.args, s.summary)
				fs.PrintDefaults()
			}
			var cf clientFlags
			cf.register(fs)
			if s.flags != nil {
				s.flags(fs)
			}
			if err := fs.Parse(interleave(fs, args[1:])); err != nil {
				return errUsage
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			return s.run(ctx, c, &cf, fs, stdout, stderr)
		}
		fmt.Fprintf(stderr, "pollhook %s: unknown command %q\n\n", group, args[0])
		groupUsage(stderr)
		return errUsage
	}
}

// interleave moves flags after positional arguments to the front, so that
// `pollhook instances show 7 --json` works as users expect.
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	return append(append(flags, "--"), pos...)
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// oneArg reads the single positional argument a command takes.
func oneArg(fs *flag.FlagSet, what string) (string, error) {
	if fs.NArg() != 1 {
		fmt.Fprintf(fs.Output(), "%s: expects one %s\n", fs.Name(), what)
		return "", errUsage
	}
	return fs.Arg(0), nil
}

func instanceID(fs *flag.FlagSet) (string, error) {
	raw, err := oneArg(fs, "instance id")
	if err != nil {
		return "", err
	}
	if n, err := strconv.ParseInt(raw, 10, 64); err != nil || n < 1 {
		fmt.Fprintf(fs.Output(), "%s: %q is not an instance id\n", fs.Name(), raw)
		return "", errUsage
	}
	return raw, nil
}

// The instance commands.

type instanceRow struct {
	ID            int64             `json:"id"`
	Name          string            `json:"name"`
	Element       struct{ Key any } `json:"element"`
	Valid         bool              `json:"valid"`
	Disabled      bool              `json:"disabled"`
	EventsEnabled bool              `json:"eventsEnabled"`
	Token         string            `json:"token"`
	Tags          []string          `json:"tags"`
	CreatedDate   string            `json:"createdDate"`
}

func instancesCommand() func(context.Context, []string, io.Writer, io.Writer) error {
	var file string
	var tags string
	return runGroup("instances", []subcommand{
		{verb: "list", summary: "list the organization's instances",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&tags, "tag", "", "only instances with this tag") },
			run: func(ctx context.Context, c *client.Client, cf *clientFlags, fs *flag.FlagSet, stdout, _ io.Writer) error {
				q := url.Values{}
				if tags != "" {
					q.Add("tags[]", tags)
				}
				var raw json.RawMessage
				if _, err := c.Do(ctx, "GET", "/instances?"+q.Encode(), nil, &raw); err != nil {
					return err
				}
				if cf.json {
					return printJSON(stdout, raw)
				}
				var rows []instanceRow
				json.Unmarshal(raw, &rows)
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tELEMENT\tSTATE\tEVENTS\tCREATED")
				for _, r := range rows {
					fmt.Fprintf(tw, "%d\t%s\t%v\t%s\t%s\t%s\n", r.ID, r.Name, r.Element.Key, state(r), onOff(r.EventsEnabled), r.CreatedDate)
				}
				return tw.Flush()
			}},
		{verb: "show", args: "ID", summary: "show an instance and how its polls are doing",
			run: func(ctx context.Context, c *client.Client, cf *clientFlags, fs *flag.FlagSet, stdout, _ io.Writer) error {
				id, err := instanceID(fs)
				if err != nil {
					return err
				}
				var inst, polls json.RawMessage
				if _, err := c.Do(ctx, "GET", "/instances/"+id, nil, &inst); err != nil {
					return err
				}
				if _, err := c.Do(ctx, "GET", "/instances/"+id+"/polls", nil, &polls); err != nil {
					return err
				}
				if cf.json {
					return printJSON(stdout, map[string]json.RawMessage{"instance": inst, "polls": polls})
				}
				return printInstance(stdout, inst, polls)
			}},
		{verb: "create", args: "-f body.json", summary: "create an instance from a Cloud Elements instance body ('-f -' reads standard input)",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&file, "f", "", "the JSON body (- for standard input)") },
			run: func(ctx context.Context, c *client.Client, cf *clientFlags, fs *flag.FlagSet, stdout, stderr io.Writer) error {
				if file == "" || fs.NArg() > 0 {
					fmt.Fprintln(stderr, "pollhook instances create: give the body with -f body.json (or -f - for standard input)")
					return errUsage
				}
				body, err := readInput(file)
				if err != nil {
					return err
				}
				if !json.Valid(body) {
					return fmt.Errorf("%s is not JSON", file)
				}
				var raw json.RawMessage
				if _, err := c.Do(ctx, "POST", "/instances", body, &raw); err != nil {
					return err
				}
				if cf.json {
					return printJSON(stdout, raw)
				}
				var r instanceRow
				json.Unmarshal(raw, &r)
				fmt.Fprintf(stdout, "created instance %d %q (%s)\ntoken: %s\n", r.ID, r.Name, state(r), r.Token)
				return nil
			}},
		{verb: "delete", args: "ID", summary: "delete an instance: its polls stop and its history goes",
			run: func(ctx context.Context, c *client.Client, cf *clientFlags, fs *flag.FlagSet, stdout, _ io.Writer) error {
				id, err := instanceID(fs)
				if err != nil {
					return err
				}
				if _, err := c.Do(ctx, "DELETE", "/instances/"+id, nil, nil); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "deleted instance %s\n", id)
				return nil
			}},
	})
}

func readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}

func state(r instanceRow) string {
	switch {
	case r.Disabled:
		return "disabled"
	case !r.Valid:
		return "invalid"
	}
	return "active"
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func printInstance(w io.Writer, inst, polls json.RawMessage) error {
	var r instanceRow
	json.Unmarshal(inst, &r)
	var st struct {
		InvalidReason string `json:"invalidReason"`
		Quota         *struct {
			Account          string
			Limit, Remaining int
			ResetAt          string
		} `json:"quota"`
		Polls []struct {
			Resource            string
			IntervalSeconds     int64
			Cursor              string
			NextRunAt           string
			LastError           string
			ConsecutiveFailures int
			PausedReason        string
			EventsTotal         int64
			LastRun             *struct {
				At      string
				Records int
			}
		}
	}
	json.Unmarshal(polls, &st)
	fmt.Fprintf(w, "instance %d %q, %v, %s, events %s, tags %v\ncreated %s\n", r.ID, r.Name, r.Element.Key, state(r), onOff(r.EventsEnabled), r.Tags, r.CreatedDate)
	if st.InvalidReason != "" {
		fmt.Fprintf(w, "invalid: %s\n", st.InvalidReason)
	}
	if q := st.Quota; q != nil {
		fmt.Fprintf(w, "upstream %s: %d of %d requests left today", q.Account, q.Remaining, q.Limit)
		if q.ResetAt != "" {
			fmt.Fprintf(w, " (spent until %s)", q.ResetAt)
		}
		fmt.Fprintln(w)
	}
	if len(st.Polls) == 0 {
		fmt.Fprintln(w, "no polls (events are off)")
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESOURCE\tEVERY\tCURSOR\tLAST RUN\tRECORDS\tEVENTS\tNEXT RUN\tSTATUS")
	for _, p := range st.Polls {
		status := "ok"
		switch {
		case p.PausedReason != "":
			status = "paused: " + p.PausedReason
		case p.ConsecutiveFailures > 0:
			status = fmt.Sprintf("failing (%d): %s", p.ConsecutiveFailures, p.LastError)
		}
		last, records := "-", "-"
		if p.LastRun != nil {
			last, records = p.LastRun.At, strconv.Itoa(p.LastRun.Records)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", p.Resource, time.Duration(p.IntervalSeconds)*time.Second,
			dash(p.Cursor), last, records, p.EventsTotal, dash(p.NextRunAt), status)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// The event commands.

type eventRow struct {
	ID             string `json:"id"`
	EventDate      string `json:"eventDate"`
	EventType      string `json:"eventType"`
	ObjectType     string `json:"objectType"`
	ObjectID       string `json:"objectId"`
	InstanceID     int64  `json:"instanceId"`
	NotificationID string `json:"notificationId"`
	CreatedDate    string `json:"createdDate"`
}

type notificationRow struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func eventsCommand() func(context.Context, []string, io.Writer, io.Writer) error {
	var instance int64
	var limit int
	var since string
	var wait time.Duration
	listFlags := func(fs *flag.FlagSet) {
		fs.Int64Var(&instance, "instance", 0, "only this instance's events")
		fs.StringVar(&since, "since", "", "only events pollhook recorded at or after this time (RFC 3339, or a duration such as 2h)")
	}
	return runGroup("events", []subcommand{
		{verb: "list", summary: "list events, oldest first",
			flags: func(fs *flag.FlagSet) {
				listFlags(fs)
				fs.IntVar(&limit, "limit", 100, "at most this many (0: all)")
			},
			run: func(ctx context.Context, c *client.Client, cf *clientFlags, fs *flag.FlagSet, stdout, stderr io.Writer) error {
				from, err := parseSince(since)
				if err != nil {
					return err
				}
				events, more, err := listEvents(ctx, c, instance, from, limit)
				if err != nil {
					return err
				}
				if more {
					fmt.Fprintf(stderr, "the %d oldest events shown; more follow (--limit 0 lists them all, --since skips older ones)\n", limit)
				}
				if cf.json {
					return printJSON(stdout, events)
				}
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tRECORDED\tTYPE\tRESOURCE\tOBJECT\tINSTANCE\tNOTIFICATION")
				for _, raw := range events {
					var e eventRow
					json.Unmarshal(raw, &e)
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", e.ID, e.CreatedDate, e.EventType, e.ObjectType, e.ObjectID, e.InstanceID, dash(e.NotificationID))
				}
				return tw.Flush()
			}},
		{verb: "show", args: "EVENT_ID", summary: "show an event, its notification and the delivery attempts",
			run: func(ctx context.Context, c *client.Client, cf *clientFlags, fs *flag.FlagSet, stdout, _ io.Writer) error {
				id, err := oneArg(fs, "event id")
				if err != nil {
					return err
				}
				var ev json.RawMessage
				if _, err := c.Do(ctx, "GET", "/instances/events/"+url.PathEscape(id), nil, &ev); err != nil {
					return err
				}
				var e eventRow
				json.Unmarshal(ev, &e)
				out := map[string]json.RawMessage{"event": ev}
				if e.NotificationID != "" {
					var n, attempts json.RawMessage
					if _, err := c.Do(ctx, "GET", "/notifications/"+url.PathEscape(e.NotificationID), nil, &n); err != nil {
						return err
					}
					if _, err := c.Do(ctx, "GET", "/notifications/"+url.PathEscape(e.NotificationID)+"/attempts", nil, &attempts); err != nil {
						return err
					}
					out["notification"], out["attempts"] = n, attempts
				}
				return printJSON(stdout, out)
			}},
		{verb: "replay", args: "[EVENT_ID…]", summary: "send the notifications carrying these events again (same ids); or every event --since, of one --instance",
			flags: func(fs *flag.FlagSet) {
				listFlags(fs)
				fs.DurationVar(&wait, "wait", 0, "wait this long for the replays to be delivered, showing progress")
			},
			run: func(ctx context.Context, c *client.Client, cf *clientFlags, fs *flag.FlagSet, stdout, stderr io.Writer) error {
				return replay(ctx, c, fs, since, instance, wait, stdout, stderr)
			}},
	})
}

func parseSince(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since: %q is neither an RFC 3339 time (2026-11-28T09:00:00Z) nor a duration (2h)", s)
	}
	return t, nil
}

// listEvents reads events, oldest first, those recorded at or after from
// (the server filters: since); more says it stopped at limit with more
// events to come.
func listEvents(ctx context.Context, c *client.Client, instance int64, from time.Time, limit int) (_ []json.RawMessage, more bool, _ error) {
	return client.ListMore[json.RawMessage](ctx, c, eventsPath(instance), sinceQuery(from), limit)
}

// eventsPath is the organization's events, or one instance's.
func eventsPath(instance int64) string {
	if instance != 0 {
		return fmt.Sprintf("/instances/%d/events", instance)
	}
	return "/instances/events"
}

func sinceQuery(from time.Time) url.Values {
	q := url.Values{}
	if !from.IsZero() {
		q.Set("since", from.UTC().Format(time.RFC3339Nano))
	}
	return q
}

// replayResult is the answer of POST …/events/replay.
type replayResult struct {
	Notifications int      `json:"notifications"`
	IDs           []string `json:"notificationIds"`
	Truncated     bool     `json:"notificationIdsTruncated"`
	SkippedEvents int      `json:"skippedEvents"`
}

// replay replays the notifications carrying the events given by id (each
// once), or, with --since, every notification the server finds carrying
// a matching event; with --wait it follows them until they are delivered.
func replay(ctx context.Context, c *client.Client, fs *flag.FlagSet, since string, instance int64, wait time.Duration, stdout, stderr io.Writer) error {
	var ids []string
	switch {
	case fs.NArg() > 0 && (since != "" || instance != 0):
		fmt.Fprintln(stderr, "pollhook events replay: give event ids, or --since/--instance, not both")
		return errUsage
	case fs.NArg() > 0:
		var err error
		if ids, err = replayEvents(ctx, c, fs.Args(), stdout, stderr); err != nil || ids == nil {
			return err
		}
	case since != "":
		// The server replays every matching notification, each once.
		from, err := parseSince(since)
		if err != nil {
			return err
		}
		var res replayResult
		if _, err := c.Do(ctx, "POST", eventsPath(instance)+"/replay?"+sinceQuery(from).Encode(), nil, &res); err != nil {
			return err
		}
		if res.SkippedEvents > 0 {
			fmt.Fprintf(stderr, "%d events have no notification to replay (no callback, or history pruned)\n", res.SkippedEvents)
		}
		if res.Notifications == 0 {
			if res.SkippedEvents > 0 {
				return errors.New("nothing to replay")
			}
			fmt.Fprintln(stdout, "no events match: nothing to replay")
			return nil
		}
		fmt.Fprintf(stdout, "replayed %d notifications\n", res.Notifications)
		ids = res.IDs
		if res.Truncated && wait > 0 {
			fmt.Fprintf(stderr, "following the first %d of %d notifications\n", len(ids), res.Notifications)
		}
	default:
		fmt.Fprintln(stderr, "pollhook events replay: give event ids, or --since (with --instance to narrow it)")
		return errUsage
	}
	p := newProgress(stderr)
	if wait <= 0 {
		return nil
	}
	deadline := time.After(wait)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		delivered, failing := 0, 0
		for _, id := range ids {
			var n notificationRow
			if _, err := c.Do(ctx, "GET", "/notifications/"+url.PathEscape(id), nil, &n); err != nil {
				p.done()
				return err
			}
			// A replay makes the notification pending again: delivered
			// now means delivered again.
			switch n.Status {
			case "delivered":
				delivered++
			case "retry", "queued":
				failing++
			}
		}
		p.show("delivered %d of %d (%d waiting on a failing receiver)", delivered, len(ids), failing)
		if delivered == len(ids) {
			p.done()
			fmt.Fprintf(stdout, "all %d delivered\n", len(ids))
			return nil
		}
		select {
		case <-ctx.Done():
			p.done()
			return ctx.Err()
		case <-deadline:
			p.done()
			return fmt.Errorf("%d of %d replays delivered after %s; see 'pollhook events show' for the attempts", delivered, len(ids), wait)
		case <-tick.C:
		}
	}
}

// replayEvents replays the notifications carrying the events given by id,
// each once, and returns their ids (nil when there were none).
func replayEvents(ctx context.Context, c *client.Client, eventIDs []string, stdout, stderr io.Writer) ([]string, error) {
	var events []eventRow
	for _, id := range eventIDs {
		var e eventRow
		if _, err := c.Do(ctx, "GET", "/instances/events/"+url.PathEscape(id), nil, &e); err != nil {
			return nil, fmt.Errorf("event %s: %w", id, err)
		}
		events = append(events, e)
	}
	var ids []string
	seen := map[string]bool{}
	skipped := 0
	for _, e := range events {
		if e.NotificationID == "" {
			skipped++
			continue
		}
		if !seen[e.NotificationID] {
			seen[e.NotificationID] = true
			ids = append(ids, e.NotificationID)
		}
	}
	if skipped > 0 {
		fmt.Fprintf(stderr, "%d of %d events have no notification to replay (no callback, or history pruned)\n", skipped, len(events))
	}
	if len(ids) == 0 {
		return nil, errors.New("nothing to replay")
	}
	p := newProgress(stderr)
	for i, id := range ids {
		if _, err := c.Do(ctx, "POST", "/notifications/"+url.PathEscape(id)+"/replay", nil, nil); err != nil {
			p.done()
			return nil, fmt.Errorf("replay %s (%d of %d done): %w", id, i, len(ids), err)
		}
		p.show("replaying: %d of %d notifications queued", i+1, len(ids))
	}
	p.done()
	fmt.Fprintf(stdout, "replayed %d notifications (%d events)\n", len(ids), len(events)-skipped)
	return ids, nil
}

// progress rewrites one status line on a terminal, and prints a line
// per change elsewhere (logs, CI).
type progress struct {
	w    io.Writer
	tty  bool
	last string
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) show(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if line == p.last {
		return
	}
	p.last = line
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		return
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) done() {
	if p.tty && p.last != "" {
		fmt.Fprintln(p.w)
	}
	p.last = ""
}
