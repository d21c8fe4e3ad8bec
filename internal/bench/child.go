package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"time"
)

// child is a pollhook command running as a process of its own, so that
// stopping it is a real process ending: a SIGTERM runs its shutdown, a
// SIGKILL leaves whatever it was doing half done.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// startChild runs exe with args and waits until a line of its output
// matches ready; it returns the lines read so far, the match last. The
// child's output goes on to logPath, appended across restarts.
func startChild(ctx context.Context, exe string, env []string, logPath string, ready *regexp.Regexp, args ...string) (*child, []string, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = log
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Close()
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, nil, fmt.Errorf("bench: start %s: %w", args[0], err)
	}
	c := &child{name: args[0], cmd: cmd, done: make(chan struct{})}
	found := make(chan []string, 1)
	go func() {
		var lines []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			fmt.Fprintln(log, sc.Text())
			if lines = append(lines, sc.Text()); ready.MatchString(sc.Text()) {
				found <- lines
				break
			}
		}
		io.Copy(log, out)
		cmd.Wait()
		log.Close()
		close(c.done)
	}()
	select {
	case lines := <-found:
		return c, lines, nil
	case <-c.done:
		return nil, nil, fmt.Errorf("bench: %s exited before it was ready (see %s)", args[0], logPath)
	case <-time.After(2 * time.Minute):
		c.stop(syscall.SIGKILL)
		return nil, nil, fmt.Errorf("bench: %s not ready after 2 minutes (see %s)", args[0], logPath)
	case <-ctx.Done():
		c.stop(syscall.SIGKILL)
		return nil, nil, ctx.Err()
	}
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// stop sends sig and waits for the process to end; after a minute it
// kills it.
func (c *child) stop(sig syscall.Signal) {
	c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
	case <-time.After(time.Minute):
		c.cmd.Process.Kill()
		<-c.done
	}
}
