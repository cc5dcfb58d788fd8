package nagios

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// --trace against the live kernel (root; CI runs as root): a DNS storm of
// known rate is listed within 10 %, and creation_rate's thresholds apply.
func TestTraceLive(t *testing.T) {
	cmd := exec.Command(testenv.Build(t, "./bench/churn"), "-name", "dns-storm", "-dns", "100", "-udp", "200")
	cmd.Stderr = os.Stderr
	testenv.Start(t, cmd)
	check := testenv.Build(t, "./cmd/check_sockwatch")
	state := "--state-file=" + t.TempDir() + "/state"
	stdout, stderr, code := testenv.Run(t, exec.Command(check, "--trace", "3", "--top", "20", "-t", "60", state, "-c", "creation_rate=100000"))
	require.Empty(t, stderr)
	require.Equal(t, 0, code, stdout)
	m := regexp.MustCompile(`(?m)^  dns-storm \(root\): (\d+) sockets/s \((\d+) udp\), (\d+) DNS lookups/s$`).FindStringSubmatch(stdout)
	require.NotNil(t, m, "no dns-storm line:\n%s", stdout)
	for i, want := range []float64{300, 300, 100} {
		got, _ := strconv.Atoi(m[i+1])
		require.InDelta(t, want, got, want*0.10, "%s:\n%s", m[0], stdout)
	}
	p := regexp.MustCompile(`sockets_created_per_second=(\d+);;100000;0`).FindStringSubmatch(stdout)
	require.NotNil(t, p, "perfdata:\n%s", stdout)
	total, _ := strconv.Atoi(p[1])
	require.GreaterOrEqual(t, total, 270)

	stdout, _, code = testenv.Run(t, exec.Command(check, "--trace", "2", "-t", "60", state, "-w", "creation_rate=50"))
	require.Equal(t, 1, code, stdout)
	require.True(t, strings.HasPrefix(stdout, "SOCKWATCH WARNING - sockets created per second "), stdout)
}

// Without the privileges to trace: one line says what is missing, every
// other figure is there, and the exit code follows the thresholds only.
func TestTraceUnprivileged(t *testing.T) {
	check := testenv.PublicCopy(t, testenv.Build(t, "./cmd/check_sockwatch"))
	cmd := exec.Command(check, "--trace", "1", "--state-file=/dev/null/x")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	stdout, _, code := testenv.Run(t, cmd)
	require.Equal(t, 0, code, stdout)
	require.Contains(t, stdout, "\ncreators: not traced: eBPF tracing unavailable: privileges: run as root or with CAP_BPF and CAP_PERFMON (operation not permitted)\n")
	require.Equal(t, 1, strings.Count(stdout, "eBPF"), stdout)
	require.Contains(t, stdout, "sockets_used=")
	require.NotContains(t, stdout, "sockets_created_per_second")
}

func TestTraceFlag(t *testing.T) {
	for _, bad := range [][]string{{"--trace", "0"}, {"--trace", "61"}, {"--trace", "x"}, {"--trace", "10"}, {"--trace", "5", "-t", "5"}} {
		_, err := parseArgs(bad)
		require.Error(t, err, "%v", bad)
	}
	cfg, err := parseArgs([]string{"--trace", "30", "-t", "40", "-c", "creation_rate=500"})
	require.NoError(t, err)
	require.Equal(t, 30, cfg.Trace)
}

// CAP_BPF and CAP_PERFMON are all --trace needs: as nobody with only
// those two, the top creators are listed.
func TestTraceWithCapabilities(t *testing.T) {
	const capPerfmon, capBPF = 38, 39
	cmd := exec.Command(testenv.Build(t, "./bench/churn"), "-name", "caps-churn", "-udp", "100")
	cmd.Stderr = os.Stderr
	testenv.Start(t, cmd)
	check := testenv.PublicCopy(t, testenv.Build(t, "./cmd/check_sockwatch"))
	cmd = exec.Command(check, "--trace", "2", "--top", "20", "-t", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential:  &syscall.Credential{Uid: 65534, Gid: 65534},
		AmbientCaps: []uintptr{capPerfmon, capBPF},
	}
	stdout, _, code := testenv.Run(t, cmd)
	require.Equal(t, 0, code, stdout)
	require.NotContains(t, stdout, "not traced")
	require.Regexp(t, `(?m)^  caps-churn \(root\): \d+ sockets/s \(\d+ udp\)$`, stdout)
}

// A process name made to look like output stays one quoted name on one
// line, and the perfdata line is intact.
func TestTraceHostileName(t *testing.T) {
	const name = "evil\nname|x=1'"
	cmd := exec.Command(testenv.Build(t, "./bench/churn"), "-name", name, "-udp", "100")
	cmd.Stderr = os.Stderr
	testenv.Start(t, cmd)
	check := testenv.Build(t, "./cmd/check_sockwatch")
	stdout, _, code := testenv.Run(t, exec.Command(check, "--trace", "2", "--top", "20", "-t", "60", "--state-file="+t.TempDir()+"/s"))
	require.Equal(t, 0, code, stdout)
	// Quoted, and its | shown as ¦ as in every long output line (a | would
	// start perfdata).
	require.Contains(t, stdout, "\n  "+strings.ReplaceAll(strconv.Quote(name), "|", "¦")+" (root): ")
	first, _, _ := strings.Cut(stdout, "\n")
	require.Contains(t, first, " sockets_created_per_second=")
	require.NotContains(t, stdout, "\nname|x=1")
}
