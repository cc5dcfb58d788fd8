//go:build linux

package sockwatch

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/privilege"
	"github.com/sockwatch/sockwatch/internal/testenv"
)

// capableBinary is telegraf-sockwatch installed as the README has it:
// setcap cap_dac_read_search,cap_sys_ptrace+ep, runnable by root and
// nobody's group only.
func capableBinary(t *testing.T) string {
	t.Helper()
	require.Equal(t, 0, os.Geteuid(), "this test gives the binary capabilities and runs it as nobody, which needs root (CI runs as root)")
	return testenv.CapableCopy(t, binary(t), "cap_dac_read_search,cap_sys_ptrace+ep", testenv.NobodyGID)
}

// requireNoSecret fails if text holds any of testenv.Secrets.
func requireNoSecret(t *testing.T, text, what string) {
	t.Helper()
	for _, s := range testenv.Secrets {
		require.NotContains(t, text, s, "a root-only secret came out on %s:\n%s", what, text)
	}
}

// TestRaisedReadsOnlyRealProc runs telegraf-sockwatch -once given
// capabilities, as nobody, against trees of links into a directory only
// root may enter, named by proc_root in a configuration file of the
// caller's, by HOST_PROC, by cgroup_root and by HOST_SYS: each is an Init
// error that says why and what to do, no metric is sent, and no secret of
// that directory comes out. A configuration file in that directory is not
// read at all. Root, running the same binary, keeps any proc root and
// reads the secrets (which shows the trees would leak them); nobody
// without capabilities is not refused, and meets the directory's
// permissions.
func TestRaisedReadsOnlyRealProc(t *testing.T) {
	bin := capableBinary(t)
	why := "refused: this program runs with capabilities cap_dac_read_search,cap_sys_ptrace, which uid 65534 does not have," +
		" and with raised privileges it uses only %s; to use another, run it as root, or as a user without raised" +
		" privileges (a copy of the binary without file capabilities)\n"
	trees := testenv.LeakTrees(t)
	for _, tree := range trees {
		for _, run := range []struct {
			conf, env string
			want      string
		}{
			{fmt.Sprintf("proc_root = %q\n  owners = true\n  namespaces = true", tree), "",
				fmt.Sprintf("failed to init input: proc root %q (option proc_root) "+why, tree, "/proc")},
			{"owners = true", "HOST_PROC=" + tree,
				fmt.Sprintf("failed to init input: proc root %q (environment variable HOST_PROC) "+why, tree, "/proc")},
			{fmt.Sprintf("cgroups = true\n  cgroup_root = %q", tree), "",
				fmt.Sprintf("failed to init input: cgroup root %q (option cgroup_root) "+why, tree, "/sys/fs/cgroup or /sys/fs/cgroup/unified")},
			{"cgroups = true", "HOST_SYS=" + tree,
				fmt.Sprintf("failed to init input: cgroup root %q (environment variable HOST_SYS) "+why, tree+"/fs/cgroup", "/sys/fs/cgroup or /sys/fs/cgroup/unified")},
		} {
			conf := readableConf(t, "[[inputs.sockwatch]]\n  "+run.conf+"\n")
			cmd := runAs(t, nobody, bin, "-config", conf, "-once")
			if run.env != "" {
				cmd.Env = append(cmd.Env, run.env)
			}
			stdout, stderr, code := testenv.Run(t, cmd)
			require.Equal(t, 1, code, stderr)
			require.Empty(t, stdout)
			require.True(t, strings.HasPrefix(stderr, "telegraf-sockwatch: loading "+conf+": "), stderr)
			require.True(t, strings.HasSuffix(stderr, run.want), "got %s\nwant ...%s", stderr, run.want)
			requireNoSecret(t, stdout+stderr, "stdout or stderr")
		}
		// Without -config, with the plugin's defaults.
		cmd := runAs(t, nobody, bin, "-once")
		cmd.Env = append(cmd.Env, "HOST_PROC="+tree)
		stdout, stderr, code := testenv.Run(t, cmd)
		require.Equal(t, 1, code, stderr)
		require.Empty(t, stdout)
		require.Equal(t, fmt.Sprintf("telegraf-sockwatch: failed to init input: proc root %q (environment variable HOST_PROC) "+why, tree, "/proc"), stderr)
	}

	// The configuration file is read with no capability effective.
	words := trees[1] + "/net/sockstat"
	stdout, stderr, code := testenv.Run(t, runAs(t, nobody, bin, "-config", words, "-once"))
	require.Equal(t, 1, code)
	require.Empty(t, stdout)
	require.Contains(t, stderr, "permission denied")
	requireNoSecret(t, stderr, "stderr")

	// Root keeps any proc root, and may read the secrets.
	conf := readableConf(t, fmt.Sprintf("[[inputs.sockwatch]]\n  proc_root = %q\n", trees[0]))
	stdout, _, _ = testenv.Run(t, runAs(t, nil, bin, "-config", conf, "-once"))
	require.Contains(t, stdout, "tcp_max_orphans=7391046i")
	require.Contains(t, stdout, "tcp_abort_on_memory=5550123i")

	// nobody without capabilities is not refused: the kernel keeps the
	// secrets from it, and the text of root's file it may read is not
	// quoted.
	stdout, stderr, code = testenv.Run(t, asNobody(t, "-config", conf, "-once"))
	require.Equal(t, 1, code, "the files behind the links are errors")
	require.Contains(t, stderr, "permission denied")
	require.Contains(t, stdout, "sockets_used=371i")
	requireNoSecret(t, stdout+stderr, "stdout or stderr")
	conf = readableConf(t, fmt.Sprintf("[[inputs.sockwatch]]\n  proc_root = %q\n", trees[2]))
	stdout, stderr, code = testenv.Run(t, asNobody(t, "-config", conf, "-once"))
	require.Equal(t, 1, code)
	require.Empty(t, stdout)
	require.Equal(t, "telegraf-sockwatch: "+trees[2]+"/net/sockstat:1: [...]: want key value pairs, got 1 fields"+
		" ([...] stands for the file's text, not quoted: the file is neither under proc nor this user's)\n", stderr)
}

// TestRaisedCapabilitiesBetweenGathers runs telegraf-sockwatch given
// capabilities as nobody, as execd runs it, with owners and namespaces on,
// while a root process holds sockets: before the first gather and after
// each one, every thread has the scan's capabilities permitted and none
// effective (nor inheritable, nor ambient); during the gather they were
// effective, since the root process's sockets are seen.
func TestRaisedCapabilitiesBetweenGathers(t *testing.T) {
	testenv.StartHelper(t, ownerHelperEnv+"="+t.TempDir())
	conf := readableConf(t, "[[inputs.sockwatch]]\n  owners = true\n  owners_top = 1000\n  namespaces = true\n")
	// A host under load (a drill's hundred thousand sockets) may take a while.
	cmd := runAs(t, nobody, capableBinary(t), "-config", conf, "-poll_interval_disabled", "-gather_timeout", "2m")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() {
		stdin.Close()
		io.Copy(io.Discard, stdout)
		require.NoError(t, cmd.Wait())
		require.Empty(t, stderr.String())
	}()

	lowered := testenv.Caps{Prm: uint64(privilege.Scan)}
	requireLowered := func(when string) {
		t.Helper()
		var threads map[int]testenv.Caps
		require.Eventually(t, func() bool {
			threads = testenv.ThreadCaps(t, cmd.Process.Pid)
			for _, c := range threads {
				if c != lowered {
					return false
				}
			}
			return len(threads) > 1
		}, time.Minute, 5*time.Millisecond, "%s: every thread has %v: %v", when, lowered, threads)
		t.Logf("%s: %d threads, each %v", when, len(threads), lowered)
	}
	requireLowered("before the first gather")
	lines := bufio.NewScanner(stdout)
	for gather := 1; gather <= 2; gather++ {
		_, err := stdin.Write([]byte("\n"))
		require.NoError(t, err)
		seen := false
		for !seen && lines.Scan() {
			seen = strings.HasPrefix(lines.Text(), `sockwatch_owner,process_name=w'\=1\x0a|x,user=root `)
		}
		require.True(t, seen, "gather %d saw the root process's sockets", gather)
		requireLowered(fmt.Sprintf("after gather %d", gather))
	}
}

// TestRaisedCgoBuildRefuses: telegraf-sockwatch built with cgo (go build's
// default where a C compiler is found) cannot change the capabilities of
// every thread; given capabilities, it says so and stops before reading
// anything.
func TestRaisedCgoBuildRefuses(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "telegraf-sockwatch")
	build := exec.Command("go", "build", "-o", bin, "./cmd/telegraf-sockwatch")
	build.Dir = testenv.ModuleRoot(t)
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	capable := testenv.CapableCopy(t, bin, "cap_dac_read_search,cap_sys_ptrace+ep", testenv.NobodyGID)

	stdout, stderr, code := testenv.Run(t, runAs(t, nobody, capable, "-once"))
	require.Equal(t, 1, code)
	require.Empty(t, stdout)
	require.Equal(t, "telegraf-sockwatch: cannot lower the privileges it runs with: this binary was built with cgo,"+
		" so its capabilities cannot be lowered on every thread: rebuild it with CGO_ENABLED=0 (make build does)\n", stderr)

	// Without raised privileges it runs.
	stdout, stderr, code = testenv.Run(t, runAs(t, nobody, testenv.PublicCopy(t, bin), "-once"))
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "sockets_used=")
}
