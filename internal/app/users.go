package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/store"
)

// runUsers: `pollhook users create` adds a user (and, asked to, a new
// organization) directly in the database, and prints the secrets once.
func runUsers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "usage: pollhook users create --email ADDRESS [--first NAME] [--last NAME] [--organization ID | --new-organization NAME]")
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
			SecretHash: auth.Hash(creds.User)})
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
	fmt.Fprintln(stdout, "These secrets are not stored in clear anywhere: keep them now.")
	return nil
}

func orgList(orgs []*store.Organization) string {
	s := ""
	for _, o := range orgs {
		s += fmt.Sprintf("  %d  %s\n", o.ID, o.Name)
	}
	return s
}
