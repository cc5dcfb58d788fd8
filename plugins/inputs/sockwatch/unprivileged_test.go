//go:build linux

package sockwatch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// nobody is the unprivileged user the binary runs as.
var nobody = &syscall.Credential{Uid: 65534, Gid: 65534}

// asNobody returns a command running a copy of the binary as nobody: the
// build cache is under root's home, which nobody cannot enter.
func asNobody(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	require.Equal(t, 0, os.Geteuid(), "this test runs the binary as nobody, which needs root (CI runs as root)")
	return runAs(t, nobody, testenv.PublicCopy(t, binary(t)), args...)
}

// runAs returns a command running bin as cred (nil: as the test).
func runAs(t *testing.T, cred *syscall.Credential, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := command(t, time.Minute, nil, bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return cmd
}

// readableConf writes a plugin configuration nobody can read.
func readableConf(t *testing.T, content string) string {
	t.Helper()
	path := writeFile(t, "sockwatch.conf", content)
	require.NoError(t, os.Chmod(filepath.Dir(path), 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(filepath.Dir(path)), 0o755))
	return path
}

// TestBinaryUnprivileged runs the binary as nobody on this host with owners
// on, while a root process holds sockets: the host series is whole (no
// figure of it needs privilege), the owners are nobody's own processes, and
// owner_processes_not_inspected says how many were not looked at; no error.
func TestBinaryUnprivileged(t *testing.T) {
	testenv.StartHelper(t, ownerHelperEnv+"="+t.TempDir())

	conf := readableConf(t, "[[inputs.sockwatch]]\n  proc_root = \"/proc\"\n  owners = true\n  owners_top = 1000\n")
	stdout, stderr, code := testenv.Run(t, asNobody(t, "-config", conf, "-once"))
	require.Empty(t, stderr)
	require.Equal(t, 0, code)
	var host map[string]any
	for _, m := range parseLines(t, stdout) {
		switch m.Name() {
		case "sockwatch":
			if _, ok := m.GetField("sockets_used"); ok {
				host = m.Fields()
			}
		case "sockwatch_owner":
			require.Equal(t, "nobody", m.Tags()["user"], "only nobody's own processes are inspected")
		}
	}
	require.NotNil(t, host, stdout)
	for _, f := range []string{"sockets_used", "tcp_inuse", "tcp_orphan", "tcp_tw", "tcp_mem_pages", "tcp_mem_max_pages",
		"tcp_max_orphans", "tcp_max_tw_buckets", "files_allocated", "files_max", "numothersock", "unix_sockets",
		"udp_dns_sockets", "tcp_mem_used_percent"} {
		require.Contains(t, host, f, "%s needs no privilege", f)
	}
	require.GreaterOrEqual(t, host["owner_processes_not_inspected"], int64(1), "the root helper at least")
}

// TestBinaryUnprivilegedBeancounters: OpenVZ's user_beancounters is mode
// 0400 root. As nobody, its error names the file and says why, and every
// other figure is sent, numothersock computed from sockstat. With
// CAP_DAC_READ_SEARCH the real /proc's would be read, but this tree is not
// the real /proc: it is refused (TestRaisedReadsOnlyRealProc); root reads
// it.
func TestBinaryUnprivilegedBeancounters(t *testing.T) {
	root := testenv.CopyTree(t, scenario(t, "openvz-container"), testenv.Everyone)
	bc := filepath.Join(root, "user_beancounters")
	require.NoError(t, os.Chmod(bc, 0o400))

	conf := readableConf(t, fmt.Sprintf("[[inputs.sockwatch]]\n  proc_root = %q\n", root))
	stdout, stderr, code := testenv.Run(t, asNobody(t, "-config", conf, "-once"))
	require.Equal(t, 1, code, "an error was reported")
	require.Equal(t, "telegraf-sockwatch: "+bc+": permission denied\n", stderr)
	require.NotContains(t, stdout, "sockwatch_beancounter")
	require.Contains(t, stdout, "numothersock=342i")
	require.True(t, strings.HasPrefix(stdout, "sockwatch "), stdout)

	cmd := asNobody(t, "-config", conf, "-once")
	cmd.SysProcAttr.AmbientCaps = []uintptr{unix.CAP_DAC_READ_SEARCH}
	stdout, stderr, code = testenv.Run(t, cmd)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "proc root \""+root+"\" (option proc_root) refused: this program runs with capabilities cap_dac_read_search,")
	require.Empty(t, stdout)

	stdout, stderr, code = testenv.Run(t, command(t, time.Minute, nil, binary(t), "-config", conf, "-once"))
	require.Empty(t, stderr)
	require.Equal(t, 0, code)
	require.Contains(t, stdout, "sockwatch_beancounter,ctid=101,resource=numothersock ")
}

// TestBinaryCapabilities runs the binary as nobody with owners on and each
// set of capabilities the README weighs, while a root process (the helper,
// named "w'=1\n|x") holds 9 sockets. Listing another user's /proc/PID/fd
// takes CAP_DAC_READ_SEARCH, reading its links CAP_SYS_PTRACE: with both the
// helper is seen, with either alone it counts as not inspected, never as a
// process without sockets.
func TestBinaryCapabilities(t *testing.T) {
	testenv.StartHelper(t, ownerHelperEnv+"="+t.TempDir())

	conf := readableConf(t, "[[inputs.sockwatch]]\n  proc_root = \"/proc\"\n  owners = true\n  owners_top = 1000\n")
	for _, tc := range []struct {
		name string
		caps []uintptr
		seen bool
	}{
		{"none", nil, false},
		{"CAP_DAC_READ_SEARCH", []uintptr{unix.CAP_DAC_READ_SEARCH}, false},
		{"CAP_SYS_PTRACE", []uintptr{unix.CAP_SYS_PTRACE}, false},
		{"both", []uintptr{unix.CAP_DAC_READ_SEARCH, unix.CAP_SYS_PTRACE}, true},
		// As the README installs it: file capabilities, not ambient ones.
		{"setcap", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := asNobody(t, "-config", conf, "-once")
			if tc.name == "setcap" {
				cmd = runAs(t, nobody, capableBinary(t), "-config", conf, "-once")
			}
			cmd.SysProcAttr.AmbientCaps = tc.caps
			stdout, stderr, code := testenv.Run(t, cmd)
			require.Empty(t, stderr)
			require.Equal(t, 0, code)
			var seen bool
			var notInspected any
			for _, m := range parseLines(t, stdout) {
				if v, _ := m.GetTag("process_name"); m.Name() == "sockwatch_owner" && v == `w'=1\x0a|x` {
					seen = true
					require.Equal(t, int64(9), m.Fields()["sockets"])
				}
				if v, ok := m.GetField("owner_processes_not_inspected"); ok {
					notInspected = v
				}
			}
			require.Equal(t, tc.seen, seen, "the root helper's sockets seen:\n%s", stdout)
			if !tc.seen {
				require.GreaterOrEqual(t, notInspected, int64(1), "the root helper counts as not inspected")
			}
		})
	}
}

// unptraceable counts the processes whose descriptors this process may not
// read even as root: a sandbox's init, or a process with capabilities
// beyond ours. A scan as root counts them as not inspected.
func unptraceable(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	n := 0
	for _, e := range entries {
		if e.Name()[0] < '1' || e.Name()[0] > '9' {
			continue
		}
		dir := "/proc/" + e.Name() + "/fd"
		fds, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrPermission) {
			n++
			continue
		}
		for _, fd := range fds {
			if _, err := os.Readlink(dir + "/" + fd.Name()); errors.Is(err, fs.ErrPermission) {
				n++
				break
			}
		}
	}
	return n
}
