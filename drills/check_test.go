//go:build drill

package drills

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/plugins/parsers/influx"
	"github.com/sockwatch/sockwatch/internal/testenv"
	"github.com/stretchr/testify/require"
)

// checkResult is one run of check_sockwatch.
type checkResult struct {
	Exit   int
	State  string // from the first line: OK, WARNING, CRITICAL, UNKNOWN
	Output string
	Perf   map[string]float64 // perfdata values by label, without their unit
}

// exitStates are the Monitoring Plugins exit codes.
var exitStates = map[int]string{0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}

// where says in which network namespace a sockwatch binary runs.
type where int

const (
	// inDrillNet runs it in the drill's network namespace, whose own
	// sysctls (tcp_max_tw_buckets) it then reads.
	inDrillNet where = iota
	// inHostNet runs it in the initial network namespace, the only one that
	// has the global limits tcp_mem and tcp_max_orphans; the per-namespace
	// figures still come from the drill through the proc root.
	inHostNet
)

// command returns the command running bin with args, in the namespace w,
// reading the drill through its proc root.
func (n *drillNS) command(w where, bin string, args ...string) *exec.Cmd {
	if w == inDrillNet {
		return exec.Command("nsenter", append([]string{"--target", strconv.Itoa(n.Pid), "--net", "--", bin}, args...)...)
	}
	return exec.Command(bin, args...)
}

// Check runs check_sockwatch against the drill's proc root and parses what it
// printed.
func (n *drillNS) Check(w where, args ...string) checkResult {
	n.t.Helper()
	bin := testenv.Build(n.t, "./cmd/check_sockwatch")
	return runCheck(n.t, n.command(w, bin, append([]string{"--proc-root", n.Root}, args...)...))
}

// runCheck runs a check_sockwatch command and parses what it printed.
func runCheck(t *testing.T, cmd *exec.Cmd) checkResult {
	t.Helper()
	out, _, code := testenv.Run(t, cmd)
	r := checkResult{Exit: code, Output: out}
	first, _, _ := strings.Cut(r.Output, "\n")
	rest, ok := strings.CutPrefix(first, "SOCKWATCH ")
	require.True(t, ok, "first line %q", first)
	r.State, _, _ = strings.Cut(rest, " ")
	require.Equal(t, exitStates[r.Exit], r.State, "exit code %d disagrees with the first line:\n%s", r.Exit, r.Output)
	_, perf, ok := strings.Cut(first, " | ")
	require.True(t, ok, "no perfdata on the first line %q", first)
	var err error
	r.Perf, err = parsePerfdata(perf)
	require.NoError(t, err, "perfdata of %q", first)
	return r
}

// Value is the perfdata value of label, which must be present.
func (r checkResult) Value(t *testing.T, label string) int64 {
	t.Helper()
	v, ok := r.Perf[label]
	require.True(t, ok, "no perfdata %q in:\n%s", label, r.Output)
	return int64(v)
}

// parsePerfdata reads "'label'=value[UOM];warn;crit;min;max ..." into the
// values by label. Labels may be quoted; a quote inside one is doubled.
func parsePerfdata(s string) (map[string]float64, error) {
	perf := map[string]float64{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		var label string
		if s[0] == '\'' {
			i := 1
			for ; i < len(s); i++ {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						label += "'"
						i++
						continue
					}
					break
				}
				label += string(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated label in %q", s)
			}
			s = s[i+1:]
		} else {
			eq := strings.IndexByte(s, '=')
			if eq < 0 {
				return nil, fmt.Errorf("no = in %q", s)
			}
			label, s = s[:eq], s[eq:]
		}
		rest, ok := strings.CutPrefix(s, "=")
		if !ok {
			return nil, fmt.Errorf("%s: no =", label)
		}
		field, tail, _ := strings.Cut(rest, " ")
		value, _, _ := strings.Cut(field, ";")
		value = strings.TrimRight(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ%")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		perf[label] = v
		s = tail
	}
	return perf, nil
}

// Plugin runs the Telegraf external plugin once against the drill's proc root
// and returns the fields of its sockwatch measurement, merged over its lines.
func (n *drillNS) Plugin(w where) map[string]any {
	n.t.Helper()
	bin := testenv.Build(n.t, "./cmd/telegraf-sockwatch")
	conf := filepath.Join(n.Dir, "sockwatch.conf")
	require.NoError(n.t, os.WriteFile(conf, fmt.Appendf(nil, "[[inputs.sockwatch]]\n  proc_root = %q\n", n.Root), 0o644))
	cmd := n.command(w, bin, "-config", conf, "-once")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(n.t, err, "%s: %s", cmd, stderr.String())
	p := influx.Parser{}
	require.NoError(n.t, p.Init())
	metrics, err := p.Parse(out)
	require.NoError(n.t, err, "line protocol:\n%s", out)
	fields := map[string]any{}
	for _, m := range metrics {
		if m.Name() == "sockwatch" {
			mergeFields(fields, m)
		}
	}
	require.NotEmpty(n.t, fields, "no sockwatch measurement in:\n%s", out)
	return fields
}

func mergeFields(dst map[string]any, m telegraf.Metric) {
	for k, v := range m.Fields() {
		dst[k] = v
	}
}
