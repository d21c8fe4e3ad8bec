package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// dbLock is the exclusive lock `pollhook serve` holds on its SQLite file:
// one process per file. A second server would free the first one's
// running jobs as orphans (see jobs' recoverOrphans) and run them twice.
// The lock is an flock on <db path>.lock, which the kernel drops when the
// process ends, however it ends: a file left by a killed server blocks
// nothing. PostgreSQL takes no lock: its replicas share jobs safely.
type dbLock struct {
	f *os.File
}

// sqlitePath is the file of a sqlite:<path> DSN, or "" for another database.
func sqlitePath(dsn string) string {
	path, ok := strings.CutPrefix(dsn, "sqlite:")
	if !ok {
		return ""
	}
	return strings.TrimPrefix(path, "//")
}

// lockDatabase takes the lock of the SQLite file path, or fails at once,
// naming the lock file and the holder's process ID, when another process
// holds it. It writes this process's ID into the lock file.
func lockDatabase(path string) (*dbLock, error) {
	name := path + ".lock"
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("the database lock: %w", err)
	}
	if err := flockExclusive(f); err != nil {
		defer f.Close()
		if errors.Is(err, errLocked) {
			holder := "another process"
			b := make([]byte, 32)
			if n, _ := f.ReadAt(b, 0); n > 0 {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n]))); err == nil {
					holder = fmt.Sprintf("another process (pid %d)", pid)
				}
			}
			return nil, fmt.Errorf("the database %s is in use by %s, which holds %s: "+
				"one pollhook serve per SQLite file (several replicas need PostgreSQL)", path, holder, name)
		}
		return nil, fmt.Errorf("locking %s: %w", name, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dbLock{f: f}, nil
}

// Release lets another process take the lock. The file stays: removing it
// would let a process that opened it before the removal lock a file no
// one else sees.
func (l *dbLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	funlock(l.f)
	err := l.f.Close()
	l.f = nil
	return err
}
