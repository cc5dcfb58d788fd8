//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// process is a server the test runs, its stdout and stderr in a log file.
type process struct {
	name string // for messages: "influxd"
	cmd  *exec.Cmd
	done chan error // its exit, once
	log  string
}

// startProcess starts cmd with its output to the file log, and registers a
// cleanup that kills it if it still runs; stop stops it earlier and checks
// the exit.
func startProcess(t *testing.T, name string, cmd *exec.Cmd, log string) *process {
	t.Helper()
	p := &process{name: name, cmd: cmd, done: make(chan error, 1), log: log}
	logf, err := os.Create(log)
	require.NoError(t, err)
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// stop stops the process with SIGTERM, as its service does, and requires a
// clean exit within 30s.
func (p *process) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.done:
		require.NoError(t, err, "%s did not exit cleanly\n%s", p.name, p.logText())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not stop within 30s of SIGTERM\n%s", p.name, p.logText())
	}
}

// logText is what the process logged so far.
func (p *process) logText() string {
	data, _ := os.ReadFile(p.log)
	return string(data)
}
