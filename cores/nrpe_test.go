//go:build cores

package cores

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// nrpePluginDir is where the shipped NRPE commands run the check from.
const nrpePluginDir = "/usr/lib/nagios/plugins"

// startNRPE starts Debian's NRPE daemon for service s, listening on
// addr:5666 in the network namespace of process netns, with the shipped
// nrpe/sockwatch.cfg included as it is and, when s has flags, a command
// named after s that runs the check with them.
//
// NRPE clears the environment of its commands and runs them as the nagios
// user, from absolute paths: it runs in a mount namespace of its own
// where the test's check (bin) is in nrpePluginDir, the nagios user's home
// (where the check keeps its state) is a directory of the test, and /proc
// is s's proc tree, the one the check reads by default. With caps, the
// check's copy is given those file capabilities (setcap), as the README
// tells NRPE users to.
func startNRPE(t *testing.T, netns int, addr, bin string, s *service, caps string) *daemon {
	t.Helper()
	nrpe, err := exec.LookPath("nrpe")
	if err != nil {
		nrpe = "/usr/sbin/nrpe"
	}
	_, err = os.Stat(nrpe)
	require.NoError(t, err, "nrpe is needed (Debian: nagios-nrpe-server; make deps installs it)")
	nagios, cred := nagiosUser(t)
	home := nagios.HomeDir
	_, err = os.Stat(home)
	require.NoError(t, err, "the nagios user's home, which NRPE's commands get as $HOME")

	dir := t.TempDir()
	plugins := publicDir(t, filepath.Join(dir, "plugins"), 0o755)
	check := filepath.Join(plugins, "check_sockwatch")
	copyFile(t, bin, check, 0o755)
	s.bin = check
	if caps != "" {
		out, err := exec.Command("setcap", caps, check).CombinedOutput()
		require.NoError(t, err, "setcap (Debian: libcap2-bin): %s", out)
	}
	nagiosHome := publicDir(t, filepath.Join(dir, "home"), 0o700)
	require.NoError(t, os.Chown(nagiosHome, int(cred.Uid), int(cred.Gid)))

	conf := []string{
		"pid_file=" + filepath.Join(dir, "nrpe.pid"),
		"log_file=" + filepath.Join(dir, "nrpe.log"),
		"server_address=" + addr,
		"server_port=5666",
		"nrpe_user=nagios",
		"nrpe_group=nagios",
		"allowed_hosts=127.0.0.0/8",
		"dont_blame_nrpe=0",
		"command_timeout=60",
		"connection_timeout=300",
		"disable_syslog=1",
		"include=" + shippedConfig(t, "nrpe", "sockwatch.cfg"),
	}
	if len(s.flags) > 0 {
		conf = append(conf, fmt.Sprintf("command[%s]=%s/check_sockwatch %s", s.name, nrpePluginDir, strings.Join(s.flags, " ")))
	}
	cfg := filepath.Join(dir, "nrpe.cfg")
	require.NoError(t, os.WriteFile(cfg, []byte(strings.Join(conf, "\n")+"\n"), 0o600))

	// NRPE drops to the nagios user, which clears its parent-death signal:
	// the shell stays PID 1, as root, so that a test binary killed hard
	// still ends the namespace.
	const script = `set -e
mount --make-rprivate /
mount --bind "$1" "$2"
mount --bind "$3" "$4"
mount --bind "$5" /proc
"$6" -c "$7" -f &
wait`
	d := startDaemon(t, "nrpe", dir, syscall.CLONE_NEWNS, "nsenter", fmt.Sprintf("--net=/proc/%d/ns/net", netns), "--",
		"sh", "-c", script, "sh", plugins, nrpePluginDir, nagiosHome, home, s.tree, nrpe, cfg)
	s.checks = func() []string {
		var out []string
		for _, p := range processesIn(d.pidNS) {
			if exe, err := os.Readlink("/proc/" + strings.Fields(p)[0] + "/exe"); err == nil && filepath.Base(exe) == "check_sockwatch" {
				out = append(out, p)
			}
		}
		return out
	}
	// Listening: check_nrpe gets its version.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		d.requireRunning()
		out, err := exec.Command("nsenter", fmt.Sprintf("--net=/proc/%d/ns/net", netns), "--",
			filepath.Join(nrpePluginDir, "check_nrpe"), "-H", addr).CombinedOutput()
		if err == nil && strings.HasPrefix(string(out), "NRPE v") {
			break
		}
		require.False(t, time.Now().After(deadline), "NRPE on %s did not answer: %s\n%s", addr, out, d.logTail())
	}
	return d
}

// publicDir makes dir with mode, its parent opened to other users (a
// test's temporary directory is 0700).
func publicDir(t *testing.T, dir string, mode os.FileMode) string {
	t.Helper()
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	require.NoError(t, os.Mkdir(dir, mode))
	require.NoError(t, os.Chmod(dir, mode))
	return dir
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, testenv.WriteExecutable(dst, data, mode))
}
