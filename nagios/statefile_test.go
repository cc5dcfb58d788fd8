package nagios_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// sharedDir is a directory any user may write to, with mode (0777, or 01777
// for a sticky one like /tmp), in a root-owned 0755 parent.
func sharedDir(t *testing.T, mode os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	require.NoError(t, os.Chmod(dir, mode))
	return dir
}

// TestStateFileClobber: the state file path cannot be turned against
// another file. In each case another user (nobody) prepared the way, the
// check running as root still reports (exit 0), names why the state was
// not used, and the file that was aimed at keeps its contents.
func TestStateFileClobber(t *testing.T) {
	requireRoot(t)
	root := fixture(t, "quiet-host")
	// The file an attacker wants replaced: root's, in a root-only directory.
	victimDir := t.TempDir()
	victim := filepath.Join(victimDir, "state.json")
	require.NoError(t, os.WriteFile(victim, []byte("keep"), 0o600))
	unchanged := func() {
		t.Helper()
		data, err := os.ReadFile(victim)
		require.NoError(t, err)
		require.Equal(t, "keep", string(data))
		entries, err := os.ReadDir(victimDir)
		require.NoError(t, err)
		require.Len(t, entries, 1, "nothing written beside the victim")
	}

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) string // returns the --state-file path
		note  string
	}{
		{"link to a directory planted in a sticky shared directory", func(t *testing.T) string {
			shared := sharedDir(t, 0o777|os.ModeSticky)
			link := filepath.Join(shared, "sockwatch")
			require.NoError(t, os.Symlink(victimDir, link))
			require.NoError(t, os.Lchown(link, 65534, 65534), "as if nobody made it")
			return filepath.Join(link, "state.json")
		}, "/sockwatch, on the way to the state file, belongs to uid 65534, neither root nor this user"},
		{"directory in a shared directory that is not sticky", func(t *testing.T) string {
			shared := sharedDir(t, 0o777)
			dir := filepath.Join(shared, "sockwatch")
			require.NoError(t, os.Mkdir(dir, 0o700))
			// Anyone may rename dir away and put a link to victimDir in
			// its place.
			return filepath.Join(dir, "state.json")
		}, ", on the way to the state file, is writable by group or others and not sticky"},
		{"a shared directory itself", func(t *testing.T) string {
			return filepath.Join(sharedDir(t, 0o777|os.ModeSticky), "state.json")
		}, "is writable by group or others (want 0700)"},
		{"another user's directory", func(t *testing.T) string {
			dir := t.TempDir()
			require.NoError(t, os.Chown(dir, 65534, 65534))
			return filepath.Join(dir, "state.json")
		}, "belongs to uid 65534, not to this user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := tc.setup(t)
			o := check(t, "--proc-root", root, "--state-file", state)
			require.Equal(t, 0, o.code, o.all)
			require.Contains(t, o.perf, "orphans=")
			require.Contains(t, o.all, "state: cannot save "+state+": ")
			require.Contains(t, o.all, tc.note)
			require.Contains(t, o.all, "; counter growth is not checked")
			unchanged()
		})
	}

	// A link planted at the state file's own name in a directory that is
	// ours is neither followed nor replaced (a directory of ours that we made
	// others unable to write; the link stands for one made before that).
	dir := t.TempDir()
	link := filepath.Join(dir, "state.json")
	require.NoError(t, os.Symlink(victim, link))
	o := check(t, "--proc-root", root, "--state-file", link)
	require.Equal(t, 0, o.code, o.all)
	require.Contains(t, o.all, "is a symbolic link, not followed")
	unchanged()

	// A link of our own to our own directory is fine: followed once,
	// checked where it leads.
	own := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(t.TempDir(), own))
	for range 2 {
		o = check(t, "--proc-root", root, "--state-file", filepath.Join(own, "state.json"))
		require.Equal(t, 0, o.code, o.all)
	}
	require.NotContains(t, o.all, "state:", o.all)
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	requireRoot(t)
	dir := t.TempDir()
	require.NoError(t, syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"))
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// TestStateFileDiskFaults: a full disk or a read-only state directory
// costs the counter baseline, never the report: the check gives its verdict
// and exit code and says the state was not saved, and leaves no temporary
// file behind.
func TestStateFileDiskFaults(t *testing.T) {
	root := fixture(t, "quiet-host")

	t.Run("full", func(t *testing.T) {
		dir := mountTmpfs(t, "64k")
		fill, err := os.Create(filepath.Join(dir, "fill"))
		require.NoError(t, err)
		for {
			if _, err := fill.Write(make([]byte, 4096)); err != nil {
				require.ErrorIs(t, err, syscall.ENOSPC)
				break
			}
		}
		require.NoError(t, fill.Close())
		state := filepath.Join(dir, "state.json")
		o := check(t, "--proc-root", root, "--state-file", state, "-c", "sockets_used=10")
		require.Equal(t, 2, o.code, "the thresholds decide:\n%s", o.all)
		require.Contains(t, o.all, "state: cannot save "+state+": ")
		require.Contains(t, o.all, "no space left on device; counter growth is not checked")
		requireOnly(t, dir, "fill")
	})

	t.Run("read-only", func(t *testing.T) {
		dir := mountTmpfs(t, "1m")
		state := filepath.Join(dir, "state.json")
		o := check(t, "--proc-root", root, "--state-file", state)
		require.Equal(t, 0, o.code, o.all)
		require.NoError(t, syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""))
		o = check(t, "--proc-root", root, "--state-file", state, "-w", "sockets_used=10")
		require.Equal(t, 1, o.code, "the thresholds decide:\n%s", o.all)
		require.Contains(t, o.all, "state: cannot save "+state+": ")
		require.Contains(t, o.all, "read-only file system; counter growth is not checked")
		requireOnly(t, dir, "state.json")
	})
}

// requireOnly checks that dir holds exactly the named entries.
func requireOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	require.Equal(t, names, got)
}

// TestStateFileOtherVersions: files written by an older sockwatch (no
// version), a newer one (another version, fields this one does not know)
// or by hand (a negative counter) are each replaced with a note, and the
// next run has a good baseline.
func TestStateFileOtherVersions(t *testing.T) {
	root := fixture(t, "quiet-host")
	state := filepath.Join(t.TempDir(), "state.json")
	for content, note := range map[string]string{
		`{"counters": {"tcp_abort_on_memory": 5}}`:                                                                           "has version 0, not 2: replaced, no baseline yet",
		`{"version": 3, "proc_root": "` + root + `", "only": "", "counters": {}, "hosts": [{"a": 1}]}`:                       "has version 3, not 2: replaced",
		`{"version": 1, "proc_root": "` + root + `", "only": "", "counters": {"tcp_abort_on_memory": -9223372036854775808}}`: `is corrupt (counter "tcp_abort_on_memory" is negative): replaced`,
		`{"version": 1, "counters": {"tcp_abort_on_memory": 1e30}}`:                                                          "is corrupt (",
		`{"version": 2, "proc_root": "` + root + `", "counters": {}, "growth": {"tcp_abort_on_memory": {"by": -1}}}`:         `is corrupt (growth of "tcp_abort_on_memory" is not positive): replaced`,
		strings.Repeat(" ", 4<<20+1): "is too large to be a state file",
	} {
		require.NoError(t, os.WriteFile(state, []byte(content), 0o600))
		o := check(t, "--proc-root", root, "--state-file", state)
		require.Equal(t, 0, o.code, o.all)
		require.Contains(t, o.all, note)
		o = check(t, "--proc-root", root, "--state-file", state)
		require.Equal(t, 0, o.code, o.all)
		require.NotContains(t, o.all, "state:", "replaced by a good baseline\n%s", o.all)
	}
}
