package drilltest

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// RestoreScript is written before a drill changes a global sysctl and
// removed once the original values are back. It is a shell script that
// restores them: if it exists when a drill starts, an earlier drill died with
// the host's limits lowered, and the drills refuse to run until an operator
// has run it.
const RestoreScript = "/var/tmp/sockwatch-drill-restore-sysctls.sh"

// RequireGlobalSysctlsRestored fails when an earlier drill left global
// sysctls changed, saying how to restore them.
func RequireGlobalSysctlsRestored(t *testing.T) {
	t.Helper()
	why, err := GlobalSysctlsLeftChanged()
	require.NoError(t, err)
	if why != "" {
		require.FailNow(t, why)
	}
}

// GlobalSysctlsLeftChanged says why the drills must not run, and how to
// restore the host, when the restore script of an earlier drill is still
// there; "" when it is not.
func GlobalSysctlsLeftChanged() (string, error) {
	script, err := os.ReadFile(RestoreScript)
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("an earlier drill left global sysctls changed: restore them with `sh %s` "+
		"(it removes itself), then run the drills again. It holds:\n%s", RestoreScript, script), nil
}

// LowerGlobal sets global (initial network namespace) sysctls, named as
// under /proc/sys, for at most window, and returns the function that
// restores them; the test's cleanup calls it too. The values are restored
// whatever happens: by that function, by a timer at the end of the window,
// on SIGINT/SIGTERM/SIGHUP, and, should the test binary die without any of
// those, by a detached process that runs the restore script a little later.
func LowerGlobal(t *testing.T, window time.Duration, names []string, values []string) (restore func()) {
	t.Helper()
	RequireGlobalSysctlsRestored(t)
	require.Len(t, values, len(names))
	orig := make([]string, len(names))
	var script strings.Builder
	fmt.Fprintf(&script, "#!/bin/sh\n# Written by the sockwatch drills before lowering global sysctls for a few\n"+
		"# seconds. Run it to restore them; it removes itself.\n")
	for i, name := range names {
		v, err := ReadSysctl(name)
		require.NoError(t, err, "reading the global sysctl %s", name)
		orig[i] = v
		fmt.Fprintf(&script, "echo '%s' > /proc/sys/%s\n", v, name)
	}
	fmt.Fprintf(&script, "rm -f -- %s\n", RestoreScript)
	require.NoError(t, os.WriteFile(RestoreScript, []byte(script.String()), 0o755))

	self, err := os.Executable()
	require.NoError(t, err)
	backstop := exec.Command(self, RestoreScript, fmt.Sprint(window+5*time.Second))
	backstop.Env = append(os.Environ(), roleEnv+"="+roleRestorer)
	backstop.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	require.NoError(t, backstop.Start())

	sigs := make(chan os.Signal, 1)
	var once sync.Once
	restore = func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(sigs)
			var failed []string
			for i, name := range names {
				if err := os.WriteFile("/proc/sys/"+name, []byte(orig[i]+"\n"), 0); err != nil {
					failed = append(failed, fmt.Sprintf("%s: %v", name, err))
				}
			}
			if len(failed) > 0 {
				t.Errorf("restoring global sysctls failed: %s; run `sh %s`", strings.Join(failed, "; "), RestoreScript)
				return
			}
			os.Remove(RestoreScript)
			backstop.Process.Kill()
			backstop.Wait()
			t.Logf("global sysctls restored: %s", strings.Join(names, ", "))
		})
	}
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		if s, ok := <-sigs; ok {
			restore()
			fmt.Fprintf(os.Stderr, "drill: %v: global sysctls restored\n", s)
			os.Exit(2)
		}
	}()
	timer := time.AfterFunc(window, restore)
	t.Cleanup(func() {
		timer.Stop()
		restore()
		for i, name := range names {
			v, err := ReadSysctl(name)
			require.NoError(t, err)
			require.Equal(t, orig[i], v, "%s was not restored", name)
		}
	})

	for i, name := range names {
		require.NoError(t, os.WriteFile("/proc/sys/"+name, []byte(values[i]+"\n"), 0), "setting %s", name)
	}
	t.Logf("global sysctls lowered for at most %v: %s = %s (were %s)", window,
		strings.Join(names, ", "), strings.Join(values, ", "), strings.Join(orig, ", "))
	return restore
}

// runRestorer is the backstop of LowerGlobal: in a session of its own, it
// outlives a test binary killed hard, and after delay runs the restore
// script if it is still there. LowerGlobal kills it once it has restored.
func runRestorer(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("want SCRIPT DELAY, got %q", args)
	}
	delay, err := time.ParseDuration(args[1])
	if err != nil {
		return err
	}
	time.Sleep(delay)
	if _, err := os.Stat(args[0]); err != nil {
		return nil
	}
	out, err := exec.Command("sh", args[0]).CombinedOutput()
	fmt.Fprintf(os.Stderr, "drill restorer: ran %s: %v %s\n", args[0], err, out)
	return err
}
