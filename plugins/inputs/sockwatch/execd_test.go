//go:build linux

package sockwatch

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/plugins/parsers/influx"
	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// The tests below run the real binaries: telegraf-sockwatch as built by
// `go build`, and a real Telegraf running it through inputs.execd.

func binary(t *testing.T) string {
	t.Helper()
	return testenv.Build(t, "./cmd/telegraf-sockwatch")
}

func command(t *testing.T, timeout time.Duration, env []string, name string, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

func parseLines(t *testing.T, lp string) []telegraf.Metric {
	t.Helper()
	p := &influx.Parser{}
	require.NoError(t, p.Init())
	metrics, err := p.Parse([]byte(lp))
	require.NoError(t, err, "line protocol:\n%s", lp)
	return metrics
}

// compareLines compares metrics that went through line protocol, which
// carries no value type.
func compareLines(t *testing.T, want, got []telegraf.Metric) {
	t.Helper()
	testutil.RequireMetricsEqual(t, want, got,
		testutil.IgnoreTime(), testutil.IgnoreType(), testutil.SortMetrics(), cmpopts.EquateApprox(0, 1e-9))
}

// withPageSize sets the byte fields of the expectations, written for 4 KiB
// pages, to this host's page size: the binary converts with the host's.
func withPageSize(ms []telegraf.Metric) []telegraf.Metric {
	page := int64(os.Getpagesize())
	for _, m := range ms {
		for _, f := range []string{"tcp_mem", "udp_mem"} {
			if v, ok := m.GetField(f + "_pages"); ok {
				m.AddField(f+"_bytes", v.(int64)*page)
			}
		}
	}
	return ms
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

func TestBinaryOnce(t *testing.T) {
	stdout, stderr, code := testenv.Run(t, command(t, time.Minute,
		[]string{"HOST_PROC=" + scenario(t, "quiet-host")}, binary(t), "-once"))
	require.Empty(t, stderr)
	require.Equal(t, 0, code)
	compareLines(t, quietHost(t), parseLines(t, stdout))
}

// -once exits 1, with the file named on stderr, when the gather fails; a
// partial failure still prints what could be read.
func TestBinaryOnceFails(t *testing.T) {
	root := scenario(t, "truncated-sockstat")
	stdout, stderr, code := testenv.Run(t, command(t, time.Minute, []string{"HOST_PROC=" + root}, binary(t), "-once"))
	require.Equal(t, 1, code)
	require.Empty(t, stdout)
	require.Contains(t, stderr, filepath.Join(root, "net", "sockstat")+":2:")

	root = scenario(t, "garbage-sources")
	stdout, stderr, code = testenv.Run(t, command(t, time.Minute, []string{"HOST_PROC=" + root}, binary(t), "-once"))
	require.Equal(t, 1, code)
	require.Contains(t, stdout, "sockets_used=371i")
	require.Contains(t, stderr, filepath.Join(root, "sys", "net", "ipv4", "tcp_mem")+":1:")
}

func TestBinaryConfigErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	conf := writeFile(t, "sockwatch.conf", fmt.Sprintf("[[inputs.sockwatch]]\n  proc_root = %q\n", missing))
	_, stderr, code := testenv.Run(t, command(t, time.Minute, nil, binary(t), "-config", conf, "-once"))
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "proc root "+missing+" (option proc_root)")

	_, stderr, code = testenv.Run(t, command(t, time.Minute, nil, binary(t), "-config", missing))
	require.Equal(t, 1, code)
	require.Contains(t, stderr, missing)

	empty := writeFile(t, "empty.conf", "# nothing\n")
	_, stderr, code = testenv.Run(t, command(t, time.Minute, nil, binary(t), "-config", empty, "-once"))
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "no [[inputs.sockwatch]] section")

	// A misspelt option is an error, as in Telegraf itself, not ignored.
	typo := writeFile(t, "typo.conf", "[[inputs.sockwatch]]\n  counters = false\n  owner = true\n")
	_, stderr, code = testenv.Run(t, command(t, time.Minute, nil, binary(t), "-config", typo, "-once"))
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "typo.conf: line 1: unknown option owner of [[inputs.sockwatch]]")

	_, stderr, code = testenv.Run(t, command(t, time.Minute, nil, binary(t), "-no-such-flag"))
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "Usage: telegraf-sockwatch")
}

func TestBinaryHelp(t *testing.T) {
	_, stderr, code := testenv.Run(t, command(t, time.Minute, nil, binary(t), "-h"))
	require.Equal(t, 0, code)
	for _, flag := range []string{"Usage: telegraf-sockwatch", "-config", "-poll_interval", "-poll_interval_disabled", "-once"} {
		require.Contains(t, stderr, flag)
	}
}

// Under execd with signal = "STDIN": each line on stdin is one gather, and
// closing stdin ends the binary cleanly.
func TestBinaryStdinSignal(t *testing.T) {
	conf := writeFile(t, "sockwatch.conf", fmt.Sprintf("[[inputs.sockwatch]]\n  proc_root = %q\n", scenario(t, "quiet-host")))
	cmd := command(t, time.Minute, nil, binary(t), "-config", conf, "-poll_interval_disabled")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())

	lines := bufio.NewScanner(stdout)
	for range 2 {
		_, err = stdin.Write([]byte("\n"))
		require.NoError(t, err)
		var got strings.Builder
		for range 2 { // the gauge and the counter line of one gather
			require.True(t, lines.Scan(), "no metrics after a line on stdin")
			got.WriteString(lines.Text() + "\n")
		}
		compareLines(t, quietHost(t), parseLines(t, got.String()))
	}
	require.NoError(t, stdin.Close())
	require.False(t, lines.Scan(), "unexpected output: %s", lines.Text())
	require.NoError(t, cmd.Wait())
	// Only the debug line of each gather, for Telegraf to keep or drop.
	require.Regexp(t, `^(D! gathered in \S+: 2 series, 0 errors\n){2}$`, stderr.String())
}

// Without -config and with nothing on stdin, the binary starts with the
// defaults and exits 0 as soon as stdin is closed.
func TestBinaryStdinClosed(t *testing.T) {
	cmd := command(t, 30*time.Second, nil, binary(t))
	_, stderr, code := testenv.Run(t, cmd)
	require.Equal(t, 0, code)
	require.Empty(t, stderr)
}

// runTelegraf runs a real Telegraf with --test over an execd configuration
// running telegraf-sockwatch on the proc tree root, with the plugin options
// options and the agent's debug setting, and returns the metrics Telegraf
// printed and its log.
func runTelegraf(t *testing.T, root, options string, debug bool) ([]telegraf.Metric, string) {
	t.Helper()
	tg := testenv.Telegraf(t)
	plugin := writeFile(t, "sockwatch.conf", "[[inputs.sockwatch]]\n"+options)
	conf := writeFile(t, "telegraf.conf", fmt.Sprintf(`[agent]
  omit_hostname = true
  skip_processors_after_aggregators = true
  debug = %t

[[inputs.execd]]
  command = [%q, "-config", %q, "-poll_interval_disabled"]
  signal = "STDIN"
  environment = [%q]
  data_format = "influx"
`, debug, binary(t), plugin, "HOST_PROC="+root))
	// --test gathers once, then waits --test-wait seconds for service
	// inputs such as execd to deliver before stopping them.
	stdout, stderr, code := testenv.Run(t, command(t, 2*time.Minute, nil, tg, "--config", conf, "--test", "--test-wait", "3"))
	require.Equal(t, 0, code, "telegraf failed:\n%s", stderr)
	var lp strings.Builder
	for line := range strings.Lines(stdout) {
		if rest, ok := strings.CutPrefix(line, "> "); ok {
			lp.WriteString(rest)
		}
	}
	return parseLines(t, lp.String()), stderr
}

// execdLines returns the lines Telegraf logged for inputs.execd at level
// ("E!", "W!", "I!", "D!"), from its first word on: the timestamp is
// Telegraf's own.
func execdLines(log, level string) []string {
	var out []string
	for line := range strings.Lines(log) {
		_, rest, _ := strings.Cut(line, " ")
		if msg, ok := strings.CutPrefix(rest, level+" [inputs.execd] "); ok {
			out = append(out, strings.TrimSuffix(msg, "\n"))
		}
	}
	return out
}

func TestTelegrafExecd(t *testing.T) {
	metrics, log := runTelegraf(t, scenario(t, "out-of-socket-memory"), "", false)
	compareLines(t, withPageSize(outOfSocketMemory(t)), metrics)
	require.Contains(t, log, "[inputs.execd] Starting process")
	for line := range strings.Lines(log) {
		require.NotContains(t, line, " E! ")
		require.NotContains(t, line, " D! ", "a debug line without debug = true")
	}
}

// A gather error of the binary reaches Telegraf's log as an error naming
// the file: Telegraf's E!, read from the start of the binary's line, not
// a line execd could not read the level of.
func TestTelegrafExecdError(t *testing.T) {
	root := scenario(t, "truncated-sockstat")
	metrics, log := runTelegraf(t, root, "", false)
	require.Empty(t, metrics)
	var errs []string
	for line := range strings.Lines(log) {
		if strings.Contains(line, " E! ") {
			errs = append(errs, line)
		}
	}
	require.Len(t, errs, 1, "errors in Telegraf's log:\n%s", log)
	got := execdLines(log, "E!")
	require.Len(t, got, 1, "Telegraf's log:\n%s", log)
	require.True(t, strings.HasPrefix(got[0], "Error in plugin: "+filepath.Join(root, "net", "sockstat")+":2:"), got[0])
}

// A warning of the plugin reaches Telegraf as a warning (W!), not as an
// error; its debug line of each gather shows only with the agent's debug =
// true, at debug level.
func TestTelegrafExecdLogLevels(t *testing.T) {
	unified := filepath.Join(scenario(t, "cgroup-hybrid"), "fs", "cgroup", "unified")
	options := fmt.Sprintf("  cgroups = true\n  cgroup_root = %q\n", unified)
	_, log := runTelegraf(t, scenario(t, "quiet-host"), options, false)
	warnings := execdLines(log, "W!")
	require.Len(t, warnings, 1, "Telegraf's log:\n%s", log)
	require.True(t, strings.HasPrefix(warnings[0], "cgroups = true, but "), warnings[0])
	require.Contains(t, warnings[0], "the memory controller is not on cgroup v2 here")
	require.Empty(t, execdLines(log, "E!"), "Telegraf's log:\n%s", log)
	require.Empty(t, execdLines(log, "D!"), "Telegraf's log:\n%s", log)

	_, log = runTelegraf(t, scenario(t, "quiet-host"), options, true)
	require.Len(t, execdLines(log, "W!"), 1, "Telegraf's log:\n%s", log)
	debug := execdLines(log, "D!")
	require.NotEmpty(t, debug, "Telegraf's log:\n%s", log)
	require.Regexp(t, `^gathered in \S+: 2 series, 0 errors$`, debug[len(debug)-1])
	require.Empty(t, execdLines(log, "E!"), "Telegraf's log:\n%s", log)
}
