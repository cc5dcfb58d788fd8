//go:build linux

package sockwatch

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// hangingRoot is a proc root whose sockstat is a FIFO no one writes: opening
// it blocks, as a read of a proc root on a hung FUSE or NFS mount does.
func hangingRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "net"), 0o755))
	require.NoError(t, syscall.Mkfifo(filepath.Join(root, "net", "sockstat"), 0o644))
	return root
}

// TestBinaryOnceHangingMount: -once on a hanging proc root ends after
// -gather_timeout with exit code 1 and an error naming the root.
func TestBinaryOnceHangingMount(t *testing.T) {
	root := hangingRoot(t)
	start := time.Now()
	stdout, stderr, code := testenv.Run(t, command(t, time.Minute, []string{"HOST_PROC=" + root}, binary(t),
		"-once", "-gather_timeout", "1s"))
	require.Less(t, time.Since(start), 20*time.Second)
	require.Equal(t, 1, code)
	require.Empty(t, stdout)
	require.Equal(t, "telegraf-sockwatch: gather timed out after 1s reading "+root+" (a hung mount?): abandoned\n", stderr)

	_, stderr, code = testenv.Run(t, command(t, time.Minute, nil, binary(t), "-gather_timeout", "0"))
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "-gather_timeout 0s: must be positive")
}

// startHung starts the binary under execd's protocol on a hanging proc
// root, asks for two gathers and checks what it reports: the first times
// out, the second is refused at once while the first is still blocked.
func startHung(t *testing.T) (*exec.Cmd, io.WriteCloser, *strings.Builder) {
	t.Helper()
	root := hangingRoot(t)
	conf := writeFile(t, "sockwatch.conf", fmt.Sprintf("[[inputs.sockwatch]]\n  proc_root = %q\n", root))
	cmd := command(t, time.Minute, nil, binary(t), "-config", conf, "-poll_interval_disabled", "-gather_timeout", "1s")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := bufio.NewReader(stderr)

	start := time.Now()
	_, err = stdin.Write([]byte("\n"))
	require.NoError(t, err)
	line, err := lines.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "E! Error in plugin: gather timed out after 1s reading "+root+" (a hung mount?): abandoned\n", line)
	require.Less(t, time.Since(start), 20*time.Second)

	_, err = stdin.Write([]byte("\n"))
	require.NoError(t, err)
	line, err = lines.ReadString('\n')
	require.NoError(t, err)
	require.Regexp(t, `^E! Error in plugin: gather not started: the one started \d+s ago is still blocked reading `+regexp.QuoteMeta(root), line)

	var rest strings.Builder
	go io.Copy(&rest, lines)
	t.Cleanup(func() { require.Empty(t, stdout.String(), "no metrics from a hanging root") })
	return cmd, stdin, &rest
}

// A gather blocked on a hung mount neither hangs the binary's shutdown nor
// goes unreported: Telegraf closing stdin, or SIGTERM, still ends it with
// exit code 0.
func TestBinaryHangingMount(t *testing.T) {
	t.Run("stdin closed", func(t *testing.T) {
		cmd, stdin, rest := startHung(t)
		require.NoError(t, stdin.Close())
		require.NoError(t, waitExit(t, cmd))
		require.Empty(t, rest.String())
	})
	t.Run("SIGTERM", func(t *testing.T) {
		cmd, _, rest := startHung(t)
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		require.NoError(t, waitExit(t, cmd))
		require.Empty(t, rest.String())
	})
}

// waitExit waits for cmd to exit, at most 10 s.
func waitExit(t *testing.T, cmd *exec.Cmd) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the binary did not exit within 10 s")
		return nil
	}
}
