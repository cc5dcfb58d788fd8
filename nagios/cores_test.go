package nagios_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/coretest"
	"github.com/sockwatch/sockwatch/internal/testenv"
)

// icinga2Validate writes a minimal Icinga 2 configuration that includes the
// ITL and conf, with a host and a service using CheckCommand "sockwatch",
// and runs `icinga2 daemon -C` on it, with every directory Icinga writes to
// in a temporary one. It returns the exit status and output.
func icinga2Validate(t *testing.T, conf string) (bool, string) {
	t.Helper()
	bin, err := exec.LookPath("icinga2")
	require.NoError(t, err, "icinga2 is needed (Debian: icinga2; make deps installs it)")
	dir := t.TempDir()
	main := coretest.Icinga2Head("/usr/lib/nagios/plugins", conf) + `object Service "sockets" {
	host_name = "` + coretest.Host + `"
	check_command = "sockwatch"
	vars.sockwatch_warning = [ "orphans=15%", "tw=70%" ]
	vars.sockwatch_critical = [ "orphans=20%" ]
	vars.sockwatch_only = "orphans,tcp_mem,tw"
	vars.sockwatch_top = 5
	vars.sockwatch_timeout = 8
	vars.sockwatch_verbose = true
	vars.sockwatch_namespaces = true
	vars.sockwatch_hold = "30m"
}
`
	cfg := filepath.Join(dir, "icinga2.conf")
	require.NoError(t, os.WriteFile(cfg, []byte(main), 0o644))
	args := append([]string{"daemon", "-C", "-c", cfg}, coretest.Icinga2Defines(t, dir)...)
	out, err := exec.Command(bin, args...).CombinedOutput()
	return err == nil, string(out)
}

func TestIcinga2Config(t *testing.T) {
	conf := filepath.Join(testenv.ModuleRoot(t), "nagios", "icinga2", "sockwatch.conf")
	ok, out := icinga2Validate(t, conf)
	require.True(t, ok, out)
	require.Contains(t, out, "Finished validating the configuration file(s).")

	// Every flag is an argument with a description.
	data, err := os.ReadFile(conf)
	require.NoError(t, err)
	for _, flag := range []string{"--warning", "--critical", "--only", "--top", "--proc-root", "--state-file", "--timeout", "--verbose", "--namespaces", "--hold"} {
		i := strings.Index(string(data), `"`+flag+`" = {`)
		require.GreaterOrEqual(t, i, 0, flag)
		block := string(data)[i:]
		block = block[:strings.Index(block, "}")]
		require.Contains(t, block, "description = ", flag)
	}

	// The validation can fail: a broken copy, and a service whose command
	// does not exist, are rejected.
	broken := filepath.Join(t.TempDir(), "broken.conf")
	require.NoError(t, os.WriteFile(broken, []byte(strings.Replace(string(data), "arguments = {", "arguments = {{", 1)), 0o644))
	ok, out = icinga2Validate(t, broken)
	require.False(t, ok, out)
	empty := filepath.Join(t.TempDir(), "empty.conf")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	ok, out = icinga2Validate(t, empty)
	require.False(t, ok, out)
	require.Contains(t, out, "sockwatch")
}

// nagios4Validate runs `nagios4 -v` on a minimal main configuration with
// commands (our file) and a host and two services using them.
func nagios4Validate(t *testing.T, commands string) (bool, string) {
	t.Helper()
	bin, err := exec.LookPath("nagios4")
	require.NoError(t, err, "nagios4 is needed (Debian: nagios4; make deps installs it)")
	objects := coretest.Nagios4Always + `define command {
	command_name	notify_none
	command_line	/bin/true
}
` + coretest.Nagios4Contact("admin", "notify_none", "n") + coretest.Nagios4Host(coretest.Host, "127.0.0.1", "admin")
	for _, s := range [][2]string{{"sockets", "check_sockwatch!-w orphans=15% --top 5"},
		{"numothersock", "check_sockwatch_numothersock!80%!95%"}} {
		objects += coretest.Nagios4Service{Host: coretest.Host, Description: s[0], Command: s[1], Contact: "admin",
			MaxCheckAttempts: 1, Interval: 5}.String()
	}
	cfg := coretest.Nagios4Config(t, t.TempDir(), "/usr/lib/nagios/plugins", commands, objects)
	out, err := exec.Command(bin, "-v", cfg).CombinedOutput()
	return err == nil, string(out)
}

func TestNagios4Config(t *testing.T) {
	commands := filepath.Join(testenv.ModuleRoot(t), "nagios", "nagios4", "sockwatch.cfg")
	ok, out := nagios4Validate(t, commands)
	require.True(t, ok, out)
	require.Contains(t, out, "Total Warnings: 0")
	require.Contains(t, out, "Total Errors:   0")

	data, err := os.ReadFile(commands)
	require.NoError(t, err)
	broken := filepath.Join(t.TempDir(), "broken.cfg")
	require.NoError(t, os.WriteFile(broken, []byte(strings.Replace(string(data), "command_name\tcheck_sockwatch_numothersock", "command_name\tcheck_sockwatch_other", 1)), 0o644))
	ok, out = nagios4Validate(t, broken)
	require.False(t, ok, "a service using an undefined command must be rejected:\n%s", out)
}

// TestConfigCommandLines runs every command line of the shipped Nagios and
// NRPE configurations with the built check: a mistyped flag in them would
// be UNKNOWN forever on every host that copies them.
func TestConfigCommandLines(t *testing.T) {
	samples := map[string]string{"$ARG1$": "-w orphans=15% --top 2", "$ARG2$": "95%"}
	var lines []string
	nagiosCmd := regexp.MustCompile(`^\s*command_line\s+(\S*/check_sockwatch\b.*)$`)
	for _, line := range readLines(t, filepath.Join(testenv.ModuleRoot(t), "nagios", "nagios4", "sockwatch.cfg")) {
		if m := nagiosCmd.FindStringSubmatch(line); m != nil {
			l := m[1]
			if strings.Contains(l, "=$ARG1$") {
				l = strings.ReplaceAll(l, "$ARG1$", "80%")
			}
			l = strings.ReplaceAll(l, "--hold $ARG1$", "--hold 30m")
			for k, v := range samples {
				l = strings.ReplaceAll(l, k, v)
			}
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 5, "the Nagios commands running check_sockwatch")
	nrpeCmd := regexp.MustCompile(`^command\[\w+\]=(.*)$`)
	n := 0
	for _, line := range readLines(t, filepath.Join(testenv.ModuleRoot(t), "nagios", "nrpe", "sockwatch.cfg")) {
		if m := nrpeCmd.FindStringSubmatch(line); m != nil {
			lines = append(lines, m[1])
			n++
		}
	}
	require.Equal(t, 5, n, "the NRPE commands")
	for _, l := range lines {
		root := fixture(t, "quiet-host")
		if strings.Contains(l, "numothersock") {
			// Its percent thresholds need beancounters.
			root = fixture(t, "openvz-host")
		}
		args := strings.Fields(l)[1:]
		args = append(args, "--proc-root", root, "--state-file", filepath.Join(t.TempDir(), "s.json"))
		o := check(t, args...)
		require.NotEqual(t, 3, o.code, "%s\n%s", l, o.all)
		require.NotEmpty(t, o.perf, "%s\n%s", l, o.all)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.NoError(t, sc.Err())
	return lines
}
