package nagios_test

import (
	"errors"
	"io/fs"
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
		bin = publicCopy(t, bin)
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
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	require.Empty(t, stderr.String(), "the check writes nothing to stderr")
	o := output{code: code, all: string(out)}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	o.first, o.perf, _ = strings.Cut(lines[0], " | ")
	o.long = lines[1:]
	return o
}

// publicCopy copies the binary where another user can run it: the build
// cache is under root's home.
func publicCopy(t *testing.T, bin string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	dst := filepath.Join(dir, filepath.Base(bin))
	require.NoError(t, os.WriteFile(dst, data, 0o755))
	return dst
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

// copyTree copies a fixture directory so that a test can change it, with
// directories 0755 and files 0644 so that another user can read it.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	require.NoError(t, os.Chmod(dst, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(dst), 0o755))
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	require.NoError(t, err)
	return dst
}

// fixture is the path of a scenario of the module's testdata.
func fixture(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(testenv.ModuleRoot(t), "testdata", name)
	_, err := os.Stat(filepath.Join(dir))
	require.NoError(t, err, "fixture %s", name)
	return dir
}

// setCounter sets counter name of the two-line table prefix in a netstat or
// snmp file to value.
func setCounter(t *testing.T, path, prefix, name, value string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(string(data), "\n")
	for i := 0; i+1 < len(lines); i++ {
		if !strings.HasPrefix(lines[i], prefix+":") {
			continue
		}
		names := strings.Fields(lines[i])
		values := strings.Fields(lines[i+1])
		for j, n := range names {
			if n == name {
				values[j] = value
				lines[i+1] = strings.Join(values, " ")
				require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644))
				return
			}
		}
	}
	t.Fatalf("%s %s not found in %s", prefix, name, path)
}
