// Package app wires pollhook's commands: it parses arguments and
// configuration and starts the parts each command needs.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// command is one `pollhook <name>` subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"demo", "see pollhook work: a simulated Insightly, a server and a receiver, in one command", runDemo},
		{"serve", "run the pollhook server (API, poller, delivery)", runServe},
		{"users", "manage users (users create, users set-password)", runUsers},
		{"sim", "run a simulator of an upstream API (sim insightly)", runSim},
		{"bench", "measure pollhook on this machine (bench delivery|polling|change)", runBench},
		{"database", "back up the SQLite file, or copy everything to another database (database backup|copy)", runDatabase},
		{"instances", "manage a running server's instances (list, show, create, delete)", instancesCommand()},
		{"events", "read events and replay their notifications (list, show, replay)", eventsCommand()},
	}
}

// errUsage marks an error already explained to the user with usage text.
var errUsage = errors.New("usage")

// Run executes pollhook with args (without the program name) and returns
// the process exit code: 0 on success, 2 on a usage error, 1 otherwise.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
			return 2
		default:
			fmt.Fprintf(stderr, "pollhook %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "pollhook: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "pollhook turns CRM changes into signed webhooks.")
	fmt.Fprintln(w, "\nUsage: pollhook <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'pollhook <command> -h' for a command's flags.")
}
