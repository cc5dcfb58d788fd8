package nagios_test

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// capableCheck is the check installed as the README has it: setcap
// cap_dac_read_search,cap_sys_ptrace+ep, runnable by root and nobody's
// group only.
func capableCheck(t *testing.T) string {
	t.Helper()
	return testenv.CapableCopy(t, testenv.Build(t, "./cmd/check_sockwatch"), "cap_dac_read_search,cap_sys_ptrace+ep", testenv.NobodyGID)
}

// nobodyStateHome is an XDG_STATE_HOME for nobody: the check's default
// state directory goes under it.
func nobodyStateHome(t *testing.T) string {
	t.Helper()
	return filepath.Dir(nobodyStateFile(t))
}

// requireNoSecret fails if text holds any of testenv.Secrets.
func requireNoSecret(t *testing.T, text, what string) {
	t.Helper()
	for _, s := range testenv.Secrets {
		require.NotContains(t, text, s, "a root-only secret came out in %s:\n%s", what, text)
	}
}

// requireNoSecretIn fails if any file under dir holds a secret.
func requireNoSecretIn(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		requireNoSecret(t, string(data), path)
		return err
	}))
}

// TestRaisedReadsOnlyRealProc runs the check given capabilities, as nobody,
// against trees of links into a directory only root may enter (the
// issue's attack, by --proc-root and by HOST_PROC): it refuses with
// UNKNOWN, saying why and what to do, and no secret of that directory
// comes out on stdout, stderr or in the state directory. A --state-file
// outside the default directory is refused the same way. Root, running the
// same binary, keeps any proc root and reads the secrets (which shows the
// trees would leak them). nobody without capabilities keeps any proc root
// too, and meets the directory's permissions; the text of root's file that
// anyone may read is not quoted to it.
func TestRaisedReadsOnlyRealProc(t *testing.T) {
	requireRoot(t)
	bin := capableCheck(t)
	stateHome := nobodyStateHome(t)
	env := []string{"XDG_STATE_HOME=" + stateHome}
	why := "this program runs with capabilities cap_dac_read_search,cap_sys_ptrace, which uid 65534 does not have," +
		" and with raised privileges it uses only /proc; to use another, run it as root, or as a user without raised" +
		" privileges (a copy of the binary without file capabilities) (see check_sockwatch -h)"
	trees := testenv.LeakTrees(t)
	for _, tree := range trees {
		for _, run := range []struct {
			origin string
			env    []string
			args   []string
		}{
			{"--proc-root", nil, []string{"--proc-root", tree}},
			{"environment variable HOST_PROC", []string{"HOST_PROC=" + tree}, nil},
			{"--proc-root", nil, []string{"--proc-root", tree + "/", "--top", "5", "--namespaces", "-v"}},
		} {
			o := runCheck(t, checkCommand(bin, nobody, append(env, run.env...), run.args...))
			require.Equal(t, 3, o.code, o.all)
			require.Equal(t, "SOCKWATCH UNKNOWN - proc root "+strconv.Quote(filepath.Clean(tree))+" ("+run.origin+") refused: "+why, o.all[:len(o.all)-1])
			requireNoSecret(t, o.all, "the check's output")
		}
	}
	stateFile := filepath.Join(t.TempDir(), "state.json")
	o := runCheck(t, checkCommand(bin, nobody, env, "--state-file", stateFile))
	require.Equal(t, 3, o.code, o.all)
	require.Equal(t, "SOCKWATCH UNKNOWN - state file directory "+strconv.Quote(filepath.Dir(stateFile))+" (--state-file "+stateFile+
		") refused: this program runs with capabilities cap_dac_read_search,cap_sys_ptrace, which uid 65534 does not have,"+
		" and with raised privileges it uses only "+filepath.Join(stateHome, "sockwatch")+"; to use another,"+
		" run it as root, or as a user without raised privileges (a copy of the binary without file capabilities) (see check_sockwatch -h)", o.first)
	requireNoSecretIn(t, stateHome)

	// Root keeps any proc root, and may read the secrets: the trees leak
	// them to whoever reads them with privilege.
	rootState := filepath.Join(t.TempDir(), "state.json")
	o = runCheck(t, checkCommand(bin, nil, nil, "--proc-root", trees[0], "--state-file", rootState))
	require.Contains(t, o.all, "orphans: OK 0 of tcp_max_orphans 7391046", o.all)
	data, err := os.ReadFile(rootState)
	require.NoError(t, err)
	require.Contains(t, string(data), "5550123", "root's baseline holds the counters of the tree")
	for _, tree := range trees[1:] {
		o = runCheck(t, checkCommand(bin, nil, nil, "--proc-root", tree, "--state-file", rootState))
		require.Equal(t, 3, o.code, o.all)
		require.Regexp(t, `sockstat:1: (saltsecret|roothome): want key value pairs`, o.first, "the parse error names the first word of root's own file")
	}
	o = runCheck(t, checkCommand(bin, nil, nil, "--proc-root", fixture(t, "openvz-container"), "--state-file", rootState, "-c", "numothersock=300"))
	require.Equal(t, "SOCKWATCH CRITICAL - container 101 numothersock 342 of barrier 360 (95.0%), critical at 300", o.first)

	// nobody without capabilities is not refused: the kernel keeps the
	// secrets from it, and the text of root's file it may read is not
	// quoted.
	plain := testenv.PublicCopy(t, testenv.Build(t, "./cmd/check_sockwatch"))
	for i, tree := range trees {
		o := runCheck(t, checkCommand(plain, nobody, env, "--proc-root", tree, "-v"))
		require.NotContains(t, o.all, "refused", o.all)
		if i < 2 {
			require.Contains(t, o.all, "permission denied", o.all)
		} else {
			require.Equal(t, "SOCKWATCH UNKNOWN - cannot read socket statistics: "+tree+"/net/sockstat:1: [...]: want key value pairs, got 1 fields"+
				" ([...] stands for the file's text, not quoted: the file is neither under proc nor this user's)", o.first)
		}
		requireNoSecret(t, o.all, "the check's output")
	}
	requireNoSecretIn(t, stateHome)
}

// TestRaisedLive runs the check given capabilities as nobody on this host:
// with --top it sees the sockets of a process of root's, which nobody
// without capabilities counts as not inspected (TestUnprivilegedLive).
func TestRaisedLive(t *testing.T) {
	requireRoot(t)
	testenv.StartHelper(t, topHelperEnv+"="+filepath.Join(t.TempDir(), "root.sock"))
	o := runCheck(t, checkCommand(capableCheck(t), nobody, []string{"XDG_STATE_HOME=" + nobodyStateHome(t)},
		"--top", "1000", "--namespaces", "-t", "120"))
	require.NotEqual(t, 3, o.code, o.all)
	require.Contains(t, o.long, `  "x'=1;2 ¦" (root): 7 sockets (7 unix) in 1 process`, o.all)
}

// TestRaisedDropsBeforeOutput looks at every thread of the check given
// capabilities, run as nobody with --top and --namespaces, once its scan is
// done: its stdout is a pipe filled to the brim, so that it stops at its
// first write, after the state file is saved. By then it holds no
// capability in any set, on any thread.
func TestRaisedDropsBeforeOutput(t *testing.T) {
	requireRoot(t)
	testenv.StartHelper(t, topHelperEnv+"="+filepath.Join(t.TempDir(), "root.sock"))
	stateHome := nobodyStateHome(t)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	size, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, 4096)
	require.NoError(t, err)
	filler := strings.Repeat("x", size)
	_, err = w.WriteString(filler)
	require.NoError(t, err)

	bin := capableCheck(t)
	cmd := checkCommand(bin, nobody, []string{"XDG_STATE_HOME=" + stateHome}, "--top", "1000", "--namespaces", "-t", "120")
	cmd.Stdout = w
	require.NoError(t, cmd.Start())
	w.Close()
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()

	state := filepath.Join(stateHome, "sockwatch")
	require.Eventually(t, func() bool {
		entries, _ := os.ReadDir(state)
		return len(entries) == 1 && !strings.HasPrefix(entries[0].Name(), ".")
	}, 2*time.Minute, 10*time.Millisecond, "the state file is saved")
	threads := testenv.ThreadCaps(t, cmd.Process.Pid)
	require.Greater(t, len(threads), 1)
	for tid, c := range threads {
		require.Equal(t, testenv.Caps{}, c, "thread %d of the check, stopped writing its output", tid)
	}
	getcap, err := exec.Command("getcap", bin).CombinedOutput()
	require.NoError(t, err, "%s", getcap)
	t.Logf("before: %s", strings.TrimSpace(string(getcap)))
	t.Logf("after the scan, blocked writing its output: %d threads, each %v", len(threads), threads[cmd.Process.Pid])

	out, err := io.ReadAll(r)
	require.NoError(t, err)
	<-done
	// Whatever the state of this host (a drill may be running), not
	// UNKNOWN.
	require.Contains(t, []int{0, 1, 2}, cmd.ProcessState.ExitCode(), string(out))
	require.Regexp(t, `^SOCKWATCH (OK|WARNING|CRITICAL) - `, strings.TrimPrefix(string(out), filler))
	require.Contains(t, string(out), `"x'=1;2 ¦" (root): 7 sockets`, "the scan saw root's process")
}
