package nagios_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// output is one run of the built check.
type output struct {
	code  int
	first string // the summary: the first line up to " | "
	perf  string // the perfdata of the first line
	long  []string
	all   string
}

// check runs the built check_sockwatch with args, HOST_PROC unset.
func check(t *testing.T, args ...string) output {
	t.Helper()
	return checkAs(t, nil, nil, args...)
}

// checkAs runs the check with cred (nil: as the test) and extra environment.
func checkAs(t *testing.T, cred *syscall.Credential, env []string, args ...string) output {
	t.Helper()
	bin := testenv.Build(t, "./cmd/check_sockwatch")
	if cred != nil {
		bin = testenv.PublicCopy(t, bin)
	}
	cmd := exec.Command(bin, args...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "HOST_PROC=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	out, stderr, code := testenv.Run(t, cmd)
	require.Empty(t, stderr, "the check writes nothing to stderr")
	o := output{code: code, all: out}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	o.first, o.perf, _ = strings.Cut(lines[0], " | ")
	o.long = lines[1:]
	return o
}

// perfItems splits perfdata at the spaces between items (not those inside
// a quoted label).
func perfItems(perf string) []string {
	var items []string
	quoted := false
	start := 0
	for i := 0; i < len(perf); i++ {
		switch perf[i] {
		case '\'':
			quoted = !quoted
		case ' ':
			if !quoted {
				items = append(items, perf[start:i])
				start = i + 1
			}
		}
	}
	if start < len(perf) {
		items = append(items, perf[start:])
	}
	return items
}

// copyTree copies a fixture directory so that a test can change it, where
// another user can read it.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	return testenv.CopyTree(t, src, testenv.Everyone)
}

// fixture is the path of a scenario of the module's testdata.
func fixture(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(testenv.ModuleRoot(t), "testdata", name)
	_, err := os.Stat(filepath.Join(dir))
	require.NoError(t, err, "fixture %s", name)
	return dir
}

// setCounter sets a counter of a netstat or snmp file.
var setCounter = testenv.SetCounter
