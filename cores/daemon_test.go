//go:build cores

package cores

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// daemon is a core or an agent the test started: PID 1 of a PID namespace
// of its own, so that killing it ends every process it started, the checks
// it runs included, and a test binary that dies takes it along
// (Pdeathsig). Its stdout and stderr go to a log file in its directory.
type daemon struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	log    string
	pidNS  string // "pid:[N]", to find any process left in it
	exited atomic.Bool
	done   chan struct{}
}

// startDaemon starts argv as a daemon named name, in new namespaces of the
// kinds in clone besides PID, logging to dir/name.log. The test's cleanup
// kills it and fails if any process of its namespace outlives it.
func startDaemon(t *testing.T, name, dir string, clone uintptr, argv ...string) *daemon {
	t.Helper()
	log, err := os.Create(filepath.Join(dir, name+".log"))
	require.NoError(t, err)
	defer log.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID | clone, Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start(), "starting %s", name)
	d := &daemon{t: t, name: name, cmd: cmd, log: log.Name(), done: make(chan struct{})}
	d.pidNS, err = os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", cmd.Process.Pid))
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		require.NoError(t, err)
	}
	go func() {
		cmd.Wait()
		d.exited.Store(true)
		close(d.done)
	}()
	t.Cleanup(d.stop)
	return d
}

// stop kills the daemon, and with it its PID namespace, and checks that
// no process of that namespace is left.
func (d *daemon) stop() {
	d.cmd.Process.Kill()
	<-d.done
	var left []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		left = processesIn(d.pidNS)
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		d.t.Errorf("%s: processes left running in its PID namespace: %s", d.name, strings.Join(left, "; "))
	}
}

// requireRunning fails the test when the daemon has exited, with the end
// of its log.
func (d *daemon) requireRunning() {
	d.t.Helper()
	if d.exited.Load() {
		require.FailNow(d.t, d.name+" exited", "%s", d.logTail())
	}
}

func (d *daemon) logTail() string {
	data, _ := os.ReadFile(d.log)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// processesIn lists the processes whose PID namespace is ns, as "PID
// command line".
func processesIn(ns string) []string {
	return processes(func(pid string) bool {
		link, err := os.Readlink("/proc/" + pid + "/ns/pid")
		return err == nil && link == ns
	})
}

// processesRunning lists the processes whose executable is bin.
func processesRunning(bin string) []string {
	return processes(func(pid string) bool {
		exe, err := os.Readlink("/proc/" + pid + "/exe")
		return err == nil && exe == bin
	})
}

func processes(match func(pid string) bool) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil || !match(e.Name()) {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		out = append(out, e.Name()+" "+strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")))
	}
	return out
}
