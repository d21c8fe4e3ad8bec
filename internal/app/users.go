package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/store"
)

// stdinKey carries the reader --password-stdin reads, for tests.
type stdinKey struct{}

// withStdin makes commands run with ctx read r as their standard input.
func withStdin(ctx context.Context, r io.Reader) context.Context {
	return context.WithValue(ctx, stdinKey{}, r)
}

func stdinOf(ctx context.Context) io.Reader {
	if r, ok := ctx.Value(stdinKey{}).(io.Reader); ok {
		return r
	}
	return os.Stdin
}

// readPassword reads a password from standard input: everything up to
// the end or the first line break (so `echo pw |` works).
func readPassword(ctx context.Context) (string, error) {
	b, err := io.ReadAll(io.LimitReader(stdinOf(ctx), 4096))
	if err != nil {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimSuffix(pw, "\r")
	if err := auth.ValidPassword(pw); err != nil {
		return "", fmt.Errorf("--password-stdin: %w", err)
	}
	return pw, nil
}

// consolePassword is the password a command sets: read from standard
// input, or generated (then printed once by the caller: generated is true).
func consolePassword(ctx context.Context, fromStdin bool) (pw, hash string, generated bool, err error) {
	if fromStdin {
		if pw, err = readPassword(ctx); err != nil {
			return "", "", false, err
		}
	} else {
		pw, generated = auth.NewPassword(), true
	}
	hash, err = auth.HashPassword(pw)
	return pw, hash, generated, err
}

const usersUsage = `usage: pollhook users create --email ADDRESS [--first NAME] [--last NAME] [--organization ID | --new-organization NAME] [--password-stdin]
       pollhook users set-password --email ADDRESS [--organization ID] [--password-stdin]`

// runUsers: `pollhook users create` adds a user (and, asked to, a new
// organization) directly in the database, and prints the secrets once;
// `pollhook users set-password` sets a user's console password.
func runUsers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "set-password" {
		return runSetPassword(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, usersUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("pollhook users create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg serverConfig
	cfg.flags(fs)
	email := fs.String("email", "", "the user's e-mail address (required)")
	first := fs.String("first", "", "first name")
	last := fs.String("last", "", "last name")
	orgID := fs.Int64("organization", 0, "ID of the organization to add the user to (default: the only one)")
	newOrg := fs.String("new-organization", "", "create a new organization with this name for the user")
	pwStdin := fs.Bool("password-stdin", false, "read the user's console password from standard input (default: generate one and print it once)")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if err := cfg.envError(stderr, "pollhook users create"); err != nil {
		return err
	}
	if _, err := mail.ParseAddress(*email); err != nil || *email == "" {
		fmt.Fprintf(stderr, "pollhook users create: --email %q is not an e-mail address\n", *email)
		return errUsage
	}
	if *orgID != 0 && *newOrg != "" {
		fmt.Fprintln(stderr, "pollhook users create: give --organization or --new-organization, not both")
		return errUsage
	}
	password, hash, generated, err := consolePassword(ctx, *pwStdin)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.database())
	if err != nil {
		return err
	}
	defer st.Close()
	creds := credentials{User: auth.NewSecret()}
	var org *store.Organization
	err = st.InTxLocked(ctx, func(tx *store.Tx) error {
		if *newOrg != "" {
			creds.Organization = auth.NewSecret()
			org = &store.Organization{Name: *newOrg, SecretHash: auth.Hash(creds.Organization)}
			if err := tx.CreateOrganization(ctx, org); err != nil {
				return err
			}
		} else {
			orgs, err := tx.Organizations(ctx)
			if err != nil {
				return err
			}
			for _, o := range orgs {
				if o.ID == *orgID || (*orgID == 0 && len(orgs) == 1) {
					org = o
				}
			}
			if org == nil {
				return fmt.Errorf("%d organizations exist; name one with --organization ID (see the ids below) or make one with --new-organization\n%s",
					len(orgs), orgList(orgs))
			}
		}
		return tx.CreateUser(ctx, &store.User{OrgID: org.ID, Email: *email, FirstName: *first, LastName: *last,
			SecretHash: auth.Hash(creds.User), PasswordHash: hash})
	})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("organization %d already has a user %s", org.ID, *email)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %s in organization %d (%s)\n", *email, org.ID, org.Name)
	fmt.Fprintf(stdout, "user secret:          %s\n", creds.User)
	if creds.Organization != "" {
		fmt.Fprintf(stdout, "organization secret:  %s\n", creds.Organization)
		fmt.Fprintf(stdout, "Authorization: %s\n", creds.header())
	} else {
		fmt.Fprintf(stdout, "Authorization: User %s, Organization <the organization's secret>\n", creds.User)
	}
	if generated {
		fmt.Fprintf(stdout, "console password:     %s\n", password)
		fmt.Fprintln(stdout, "These secrets and the password are not stored in clear anywhere: keep them now.")
	} else {
		fmt.Fprintln(stdout, "console password:     (as given on standard input)")
		fmt.Fprintln(stdout, "These secrets are not stored in clear anywhere: keep them now.")
	}
	return nil
}

// runSetPassword: `pollhook users set-password` sets (or replaces) the
// console password of the user with an address, in the one organization
// that has it or the one named, and ends that user's console sessions.
func runSetPassword(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pollhook users set-password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg serverConfig
	cfg.flags(fs)
	email := fs.String("email", "", "the user's e-mail address (required)")
	orgID := fs.Int64("organization", 0, "ID of the user's organization, when the address is in several")
	pwStdin := fs.Bool("password-stdin", false, "read the password from standard input (default: generate one and print it once)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if err := cfg.envError(stderr, "pollhook users set-password"); err != nil {
		return err
	}
	if *email == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, usersUsage)
		return errUsage
	}
	password, hash, generated, err := consolePassword(ctx, *pwStdin)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.database())
	if err != nil {
		return err
	}
	defer st.Close()
	users, err := st.UsersByEmail(ctx, *email)
	if err != nil {
		return err
	}
	var user *store.User
	for _, u := range users {
		if u.OrgID == *orgID || (*orgID == 0 && len(users) == 1) {
			user = u
		}
	}
	switch {
	case len(users) == 0:
		return fmt.Errorf("no user has the address %s", *email)
	case user == nil && *orgID == 0:
		list := ""
		for _, u := range users {
			list += fmt.Sprintf("  %d  %s\n", u.OrgID, u.OrgName)
		}
		return fmt.Errorf("%s is a user of %d organizations; name one with --organization ID:\n%s", *email, len(users), list)
	case user == nil:
		return fmt.Errorf("organization %d has no user %s", *orgID, *email)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetUserPassword(ctx, user.ID, hash); err != nil {
			return err
		}
		_, err := tx.DeleteUserSessions(ctx, user.ID)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "set the console password of %s in organization %d (%s)\n", user.Email, user.OrgID, user.OrgName)
	if generated {
		fmt.Fprintf(stdout, "console password:     %s\n", password)
		fmt.Fprintln(stdout, "It is not stored in clear anywhere: keep it now.")
	}
	return nil
}

func orgList(orgs []*store.Organization) string {
	s := ""
	for _, o := range orgs {
		s += fmt.Sprintf("  %d  %s\n", o.ID, o.Name)
	}
	return s
}
