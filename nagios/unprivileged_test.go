package nagios_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// nobodyStateFile is a state file path in a directory that belongs to
// nobody, mode 0700, as the check wants it.
func nobodyStateFile(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	require.NoError(t, os.Chown(dir, int(nobody.Uid), int(nobody.Gid)))
	return filepath.Join(dir, "state.json")
}

// TestUnprivilegedLive runs the check as nobody on this host, with --top,
// while a root process holds sockets: every figure of sockstat, the limits
// and the counters is read (none of them needs privilege); the owners line
// says how many processes were not inspected; the exit code is that of the
// thresholds, OK or CRITICAL, whatever could not be inspected; and the
// state file is kept in nobody's directory.
func TestUnprivilegedLive(t *testing.T) {
	requireRoot(t)
	testenv.StartHelper(t, topHelperEnv+"="+filepath.Join(t.TempDir(), "root.sock"))

	state := nobodyStateFile(t)
	generous := []string{"-w", "sockets_used=1000000000", "-c", "sockets_used=1000000000", "-w", "files=99%", "-c", "files=99%",
		"-w", "tw=99%", "-c", "tw=99%", "-w", "orphans=99%", "-c", "orphans=99%", "-w", "tcp_mem=99%", "-c", "tcp_mem=99%",
		"-w", "udp_mem=99%", "-c", "udp_mem=99%"}
	for run := range 2 {
		o := checkAs(t, nobody, nil, append([]string{"--top", "5", "--state-file", state}, generous...)...)
		require.Equal(t, 0, o.code, o.all)
		for _, label := range []string{"sockets_used=", "numothersock=", "orphans=", "tcp_mem=", "udp_mem=", "tw=", "files=",
			"tcp_abort_on_memory="} {
			require.Contains(t, o.perf, label, "%s needs no privilege", label)
		}
		require.Regexp(t, regexp.MustCompile(`\nowners: \d+ socket descriptors? in \d+ process(es)?; not inspected: [1-9]\d* process(es)? \(descriptors not readable`), o.all)
		if run == 0 {
			require.Contains(t, o.all, "state: no baseline yet (first run)")
		} else {
			require.NotContains(t, o.all, "state:", "the baseline was saved by nobody:\n%s", o.all)
		}
	}
	fi, err := os.Stat(state)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	o := checkAs(t, nobody, nil, "--top", "5", "--state-file", state, "-c", "sockets_used=0:1")
	require.Equal(t, 2, o.code, o.all)
	require.Regexp(t, `^SOCKWATCH CRITICAL - sockets_used `, o.first)
	require.Contains(t, o.all, "not inspected: ")

	// Nobody may not load the BPF iterator: -v says the /proc scan stood in.
	o = checkAs(t, nobody, nil, append([]string{"-v", "--top", "5", "--state-file", state}, generous...)...)
	require.Equal(t, 0, o.code, o.all)
	require.Contains(t, o.all, "\nowners: read from /proc/PID/fd (bpf task_file iterator not used: ", o.all)
}

// TestUnprivilegedBeancountersCritical: with user_beancounters unreadable
// (0400 root, as on OpenVZ), numothersock is computed from sockstat and
// still alerts on its threshold; the long output says what was not read.
func TestUnprivilegedBeancountersCritical(t *testing.T) {
	requireRoot(t)
	root := copyTree(t, fixture(t, "openvz-container"))
	require.NoError(t, os.Chmod(filepath.Join(root, "user_beancounters"), 0o400))
	o := checkAs(t, nobody, nil, "--proc-root", root, "--state-file", nobodyStateFile(t), "-c", "numothersock=300")
	require.Equal(t, 2, o.code, o.all)
	require.Equal(t, "SOCKWATCH CRITICAL - numothersock 342, critical at 300", o.first)
	require.Contains(t, o.all, "\nbeancounters: unreadable (")
	require.Contains(t, o.all, "user_beancounters: permission denied); numothersock computed from sockstat")
}
