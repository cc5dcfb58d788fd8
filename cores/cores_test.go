//go:build cores

package cores

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/coretest"
	"github.com/sockwatch/sockwatch/internal/drilltest"
	"github.com/sockwatch/sockwatch/internal/netnstest"
	"github.com/sockwatch/sockwatch/internal/testenv"
)

// The network namespace that Nagios 4 and the NRPE daemons share is held
// by the test binary itself, started again as a netnstest helper.
// So are the live drills' namespace holders.
func init() {
	netnstest.Main()
	drilltest.Main()
}

// The cores, as the tests name them.
const (
	coreIcinga2 = "icinga2"
	coreNagios4 = "nagios4"
	coreNRPE    = "nrpe" // check_nrpe run by the Nagios 4 above
)

var cores = []string{coreIcinga2, coreNagios4, coreNRPE}

// service is one scenario's service as one core runs it, on a proc tree
// of its own.
type service struct {
	core  string
	name  string // unique across cores: core-scenario
	tree  string
	flags []string // the check's flags as the core passes them
	bin   string   // the check the core runs: the test's build, copied
	h     *history
	// checks lists the processes of this service's check running now.
	checks func() []string
}

// TestCores starts Icinga 2, Nagios 4 and one NRPE daemon per scenario,
// each service on a proc tree of its own, and runs every scenario through
// every core at once.
func TestCores(t *testing.T) {
	require.Zero(t, os.Geteuid(), "the cores tests need root: they create namespaces and mount in them")
	// The cores' plugin directory: the check, copied from the build once
	// (every core and the runs by hand use this copy), and check_nrpe.
	plugins := publicDir(t, filepath.Join(t.TempDir(), "plugins"), 0o755)
	check := filepath.Join(plugins, "check_sockwatch")
	copyFile(t, testenv.Build(t, "./cmd/check_sockwatch"), check, 0o755)
	require.NoError(t, os.Symlink(filepath.Join(nrpePluginDir, "check_nrpe"), filepath.Join(plugins, "check_nrpe")))

	var icinga []*service
	var nagios []nagiosService
	var run []*service
	netns := netnstest.Start(t, netnstest.Population{})
	for i, sc := range scenarios {
		for _, core := range cores {
			if sc.only != "" && core != sc.only {
				continue
			}
			s := &service{core: core, name: core + "-" + sc.name, tree: sc.tree(t), flags: sc.flags, bin: check, h: &history{}}
			if core == coreNRPE && sc.nrpeShipped {
				s.flags = nil
			}
			run = append(run, s)
			if core == coreNRPE {
				// One daemon each, on an address of its own: its /proc is
				// the service's tree.
				addr := fmt.Sprintf("127.0.0.%d", i+2)
				startNRPE(t, netns, addr, check, s, sc.nrpeCaps)
				command := "check_nrpe_sockwatch" // the shipped one
				if len(s.flags) > 0 {
					command = "check_nrpe_command!" + s.name
				}
				nagios = append(nagios, nagiosService{service: s, host: "nrpe-" + sc.name, address: addr, command: command})
				continue
			}
			state := filepath.Join(t.TempDir(), "state.json")
			s.flags = append([]string{"--state-file", state}, sc.flags...)
			if s.tree != "" {
				s.flags = append([]string{"--proc-root", s.tree}, s.flags...)
			}
			s.checks = func() []string {
				var out []string
				for _, p := range processesRunning(check) {
					if strings.Contains(p, state) {
						out = append(out, p)
					}
				}
				return out
			}
			if core == coreIcinga2 {
				icinga = append(icinga, s)
			} else {
				nagios = append(nagios, nagiosService{service: s, host: coretest.Host, address: "127.0.0.1",
					command: "check_sockwatch!" + strings.Join(s.flags, " ")})
			}
		}
	}
	ic := startIcinga2(t, t.TempDir(), plugins, icinga)
	ng := startNagios4(t, t.TempDir(), plugins, netns, nagios)

	byName := map[string]scenario{}
	for _, sc := range scenarios {
		byName[sc.name] = sc
	}
	t.Run("scenarios", func(t *testing.T) {
		for _, s := range run {
			sc := byName[strings.TrimPrefix(s.name, s.core+"-")]
			t.Run(s.name, func(t *testing.T) {
				t.Parallel()
				t.Cleanup(func() {
					t.Logf("%s recorded for %s:\n%snotifications:\n  %s", s.core, s.name, describe(s.h.Results()),
						strings.Join(s.h.Pages(t), "\n  "))
				})
				sc.run(t, s)
			})
		}
	})
	ic.d.requireRunning()
	ng.d.requireRunning()
}

// shippedConfig is the path of one of the configurations sockwatch ships,
// which the cores include as they are.
func shippedConfig(t *testing.T, dir, name string) string {
	t.Helper()
	path := filepath.Join(testenv.ModuleRoot(t), "nagios", dir, name)
	_, err := os.Stat(path)
	require.NoError(t, err)
	return path
}

// pageScript writes the notification command of a core in dir: it pages
// the on-call person by appending "TYPE STATE STATETYPE" and the first
// line of the check's output to dir/pages/SERVICE.
func pageScript(t *testing.T, dir string) string {
	t.Helper()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "pages"), 0o755))
	path := filepath.Join(dir, "page")
	script := `#!/bin/sh
# page SERVICE TYPE STATE STATETYPE OUTPUT
first=$(printf '%s\n' "$5" | head -n 1)
printf '%s %s %s %s\n' "$2" "$3" "$4" "$first" >> "$(dirname "$0")/pages/$1"
`
	require.NoError(t, testenv.WriteExecutable(path, []byte(script), 0o755))
	return path
}
