//go:build e2e

package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// The first line of the check's output, as the Monitoring Plugins guidelines
// and DESIGN.md have it.
var checkStatusLine = regexp.MustCompile(`^SOCKWATCH (OK|WARNING|CRITICAL) - .+ \| .*sockets_used=\d+`)

// make runs a target of the Makefile in the module root.
func runMake(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"--no-print-directory"}, args...)...)
	cmd.Dir = testenv.ModuleRoot(t)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "make %s\n%s", strings.Join(args, " "), out)
}

// requireCheckRuns runs an installed check against this host and requires a
// status line and an exit code of OK, WARNING or CRITICAL.
func requireCheckRuns(t *testing.T, check string) {
	t.Helper()
	stdout, stderr, code := testenv.Run(t, exec.Command(check))
	require.Containsf(t, []int{0, 1, 2}, code, "%s exit code; stdout:\n%s\nstderr:\n%s", check, stdout, stderr)
	first, _, _ := strings.Cut(stdout, "\n")
	require.Regexp(t, checkStatusLine, first)
}

// requirePluginRuns runs an installed Telegraf plugin once with an installed
// configuration and requires sockwatch line protocol.
func requirePluginRuns(t *testing.T, plugin, config string) {
	t.Helper()
	out, err := exec.Command(plugin, "-once", "-config", config).Output()
	require.NoError(t, err, "%s -once -config %s", plugin, config)
	require.Regexp(t, `(?m)^sockwatch(,\S+)? .*\bsockets_used=\d+i`, string(out))
}

// TestMakeInstall installs under a staging directory and a custom prefix,
// and runs what it installed.
func TestMakeInstall(t *testing.T) {
	dest := t.TempDir()
	const prefix = "/opt/sockwatch"
	runMake(t, "install", "DESTDIR="+dest, "PREFIX="+prefix)

	root := filepath.Join(dest, prefix)
	var files []string
	require.NoError(t, filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			files = append(files, rel)
		}
		return err
	}))
	sort.Strings(files)
	require.Equal(t, []string{
		"bin/telegraf-sockwatch",
		"lib/nagios/plugins/check_sockwatch",
		"share/man/man1/check_sockwatch.1",
		"share/man/man1/telegraf-sockwatch.1",
		"share/sockwatch/dashboards/grafana-influxql.json",
		"share/sockwatch/dashboards/influxdb2-template.json",
		"share/sockwatch/dashboards/queries.influxql",
		"share/sockwatch/icinga2/sockwatch.conf",
		"share/sockwatch/nagios4/sockwatch.cfg",
		"share/sockwatch/nrpe/sockwatch.cfg",
		"share/sockwatch/sockwatch.conf",
		"share/sockwatch/telegraf-execd.conf",
	}, files)

	requireCheckRuns(t, filepath.Join(root, "lib/nagios/plugins/check_sockwatch"))
	requirePluginRuns(t, filepath.Join(root, "bin/telegraf-sockwatch"), filepath.Join(root, "share/sockwatch/sockwatch.conf"))
}

// lintianWarnings are the warnings lintian may still give on the packages,
// each with the reason it is not fixed. Errors are not allowed at all.
var lintianWarnings = map[string]string{
	// Go links a position-independent executable (built so, as Debian's
	// hardening asks) that needs no shared library: the Go runtime makes
	// its system calls itself, so the binary has an interpreter and no
	// DT_NEEDED entry, which lintian takes for a shared library that
	// forgot its libc. Without -buildmode=pie it would be the error
	// statically-linked-binary instead, which lintian waives only for
	// packages whose source build-depends on golang-go.
	"shared-library-lacks-prerequisites": "Go PIE without cgo",
}

// requireLintianClean runs lintian on deb and requires no error and no
// warning but those of lintianWarnings.
func requireLintianClean(t *testing.T, deb string) {
	t.Helper()
	out, err := exec.Command("lintian", "--pedantic", "--display-info", deb).CombinedOutput()
	t.Logf("lintian %s:\n%s", filepath.Base(deb), out)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("lintian: %v", err)
	}
	tag := regexp.MustCompile(`^([EW]): \S+: (\S+)`)
	for line := range strings.Lines(string(out)) {
		m := tag.FindStringSubmatch(line)
		switch {
		case m == nil:
		case m[1] == "E":
			t.Errorf("lintian error: %s", line)
		case lintianWarnings[m[2]] == "":
			t.Errorf("lintian warning with no reason in lintianWarnings: %s", line)
		}
	}
}

// TestDebianPackages builds the packages with `make package`, checks them
// with lintian, installs each with dpkg, runs the installed binary from its
// installed path, and removes the package again.
func TestDebianPackages(t *testing.T) {
	runMake(t, "package")
	dist := filepath.Join(testenv.ModuleRoot(t), "bin", "package")
	for _, name := range []string{"check-sockwatch", "telegraf-sockwatch"} {
		t.Run("lintian "+name, func(t *testing.T) {
			requireLintianClean(t, onePackage(t, dist, name))
		})
	}

	t.Run("check-sockwatch", func(t *testing.T) {
		deb := onePackage(t, dist, "check-sockwatch")
		installPackage(t, "check-sockwatch", deb)
		const check = "/usr/lib/nagios/plugins/check_sockwatch"
		requireCheckRuns(t, check)
		for _, f := range []string{"icinga2/sockwatch.conf", "nagios4/sockwatch.cfg", "nrpe/sockwatch.cfg"} {
			require.FileExists(t, filepath.Join("/usr/share/sockwatch", f))
		}
		requireManPage(t, "check_sockwatch")
		removePackage(t, "check-sockwatch")
		require.NoFileExists(t, check, "dpkg --purge left the check behind")
	})

	t.Run("telegraf-sockwatch", func(t *testing.T) {
		deb := onePackage(t, dist, "telegraf-sockwatch")
		installPackage(t, "telegraf-sockwatch", deb)
		const plugin = "/usr/bin/telegraf-sockwatch"
		requirePluginRuns(t, plugin, "/usr/share/sockwatch/sockwatch.conf")
		for _, f := range []string{"telegraf-execd.conf", "dashboards/grafana-influxql.json", "dashboards/influxdb2-template.json"} {
			require.FileExists(t, filepath.Join("/usr/share/sockwatch", f))
		}
		requireManPage(t, "telegraf-sockwatch")
		removePackage(t, "telegraf-sockwatch")
		require.NoFileExists(t, plugin, "dpkg --purge left the plugin behind")
	})
}

// requireManPage requires the installed man page of name to render.
func requireManPage(t *testing.T, name string) {
	t.Helper()
	out, err := exec.Command("man", "-P", "cat", "-l", "/usr/share/man/man1/"+name+".1.gz").CombinedOutput()
	require.NoError(t, err, "man %s\n%s", name, out)
	require.Contains(t, string(out), "NAME")
	require.Contains(t, string(out), name)
}

// Each man page documents every flag its binary's -h lists.
func TestManPagesListEveryFlag(t *testing.T) {
	for name, flag := range map[string]*regexp.Regexp{
		"check_sockwatch":    regexp.MustCompile(`(?m)^ (?:-\w, )?(--?[a-zA-Z][a-z-]*)`),
		"telegraf-sockwatch": regexp.MustCompile(`(?m)^  (-[a-z_]+)`),
	} {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, _ := testenv.Run(t, exec.Command(testenv.Build(t, "./cmd/"+name), "-h"))
			flags := flag.FindAllStringSubmatch(stdout+stderr, -1)
			require.NotEmpty(t, flags)
			src, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "packaging", "man", name+".1"))
			require.NoError(t, err)
			page := strings.ReplaceAll(string(src), `\-`, "-")
			for _, f := range flags {
				require.Contains(t, page, f[1], "the man page of %s lacks %s", name, f[1])
			}
		})
	}
}

func onePackage(t *testing.T, dir, name string) string {
	t.Helper()
	debs, err := filepath.Glob(filepath.Join(dir, name+"_*.deb"))
	require.NoError(t, err)
	require.Lenf(t, debs, 1, "%s packages in %s", name, dir)
	return debs[0]
}

// installPackage installs deb with dpkg -i, first purging a copy a crashed
// run may have left, and purges it when the test ends.
func installPackage(t *testing.T, name, deb string) {
	t.Helper()
	require.Zero(t, os.Geteuid(), "dpkg -i needs root")
	if installed(name) {
		removePackage(t, name)
	}
	out, err := exec.Command("dpkg", "-i", deb).CombinedOutput()
	require.NoError(t, err, "dpkg -i %s\n%s", deb, out)
	t.Cleanup(func() {
		if installed(name) {
			exec.Command("dpkg", "--purge", name).Run()
		}
	})
}

func installed(name string) bool {
	out, _ := exec.Command("dpkg-query", "-W", "-f", "${Status}", name).Output()
	return strings.HasSuffix(string(out), " installed")
}

func removePackage(t *testing.T, name string) {
	t.Helper()
	out, err := exec.Command("dpkg", "--purge", name).CombinedOutput()
	require.NoError(t, err, "dpkg --purge %s\n%s", name, out)
}
