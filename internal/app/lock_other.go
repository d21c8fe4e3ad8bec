//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package app

import (
	"errors"
	"os"
)

// On systems without flock, no lock: run one server per SQLite file by hand.
var errLocked = errors.New("locked")

func flockExclusive(f *os.File) error { return nil }

func funlock(f *os.File) {}
