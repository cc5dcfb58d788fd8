package nagios_test

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
	"github.com/sockwatch/sockwatch/nagios/plugin"
)

// perlRange and perlItem are what plugin/testdata/perfparse.pl prints.
type perlRange struct {
	Start, End    string
	StartInfinity int `json:"start_infinity"`
	EndInfinity   int `json:"end_infinity"`
	Inside        int
}

type perlItem struct {
	Label, Value, UOM, Min, Max string
	Warning, Critical           *perlRange
}

// TestPerfdataMonitoringPlugin parses every performance data string the
// check prints, on every scenario of testdata (each must give a verdict, or
// UNKNOWN for an unreadable sockstat), with odd thresholds and on this host,
// with Debian's Monitoring::Plugin::Performance, and requires each item to
// parse into the label, value, unit, ranges, min and max the check meant.
func TestPerfdataMonitoringPlugin(t *testing.T) {
	_, err := exec.LookPath("perl")
	require.NoError(t, err, "perl is needed (Debian: perl, libmonitoring-plugin-perl)")
	out, err := exec.Command("perl", "-MMonitoring::Plugin::Performance", "-e", "1").CombinedOutput()
	require.NoError(t, err, "Monitoring::Plugin::Performance is needed (Debian: libmonitoring-plugin-perl): %s", out)

	var perfs []string
	add := func(args ...string) {
		o := check(t, append(args, "--state-file", filepath.Join(t.TempDir(), "s.json"))...)
		require.True(t, strings.HasPrefix(o.first, "SOCKWATCH "), o.all)
		if o.code == 3 {
			// Only an unreadable sockstat leaves no performance data.
			require.Contains(t, o.first, "SOCKWATCH UNKNOWN - cannot read socket statistics: ", o.all)
			return
		}
		require.NotEmpty(t, o.perf, o.all)
		perfs = append(perfs, o.perf)
	}
	entries, err := os.ReadDir(filepath.Join(testenv.ModuleRoot(t), "testdata"))
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			add("--proc-root", fixture(t, e.Name()))
		}
	}
	add("--proc-root", filepath.Join(testenv.ModuleRoot(t), "nagios", "testdata", "odd-ctid"))
	add("--proc-root", fixture(t, "quiet-host"), "-w", "files=@400:500", "-c", "tw=~:5", "-w", "orphans=10:",
		"-c", "sockets_used=-5.5:1000.25", "-w", "tcp_mem=@~:1", "-c", "udp_mem=0.5%:")
	add() // this host

	stdout, stderr, err := perfparse(strings.Join(perfs, "\n") + "\n")
	require.NoError(t, err, stderr)
	require.Empty(t, stderr)

	sc := bufio.NewScanner(strings.NewReader(string(stdout)))
	sc.Buffer(nil, 1<<20)
	n := 0
	for i := 0; sc.Scan(); i++ {
		var got []perlItem
		require.NoError(t, json.Unmarshal(sc.Bytes(), &got))
		items := perfItems(perfs[i])
		require.Len(t, got, len(items), "Perl parsed a different number of items from %q", perfs[i])
		for j, item := range items {
			comparePerl(t, item, got[j])
			n++
		}
	}
	require.Equal(t, len(perfs), countLines(stdout))
	require.Greater(t, n, 100, "items compared")
}

// perfparse runs plugin/testdata/perfparse.pl on input, lines of performance
// data: it prints Perl's reading of each as a line of JSON.
func perfparse(input string) (stdout []byte, stderr string, err error) {
	cmd := exec.Command("perl", filepath.Join("plugin", "testdata", "perfparse.pl"))
	cmd.Stdin = strings.NewReader(input)
	var errOut strings.Builder
	cmd.Stderr = &errOut
	stdout, err = cmd.Output()
	return stdout, errOut.String(), err
}

func countLines(b []byte) int { return strings.Count(string(b), "\n") }

// comparePerl compares our item, taken apart here, with Perl's reading.
func comparePerl(t *testing.T, item string, p perlItem) {
	t.Helper()
	eq := strings.LastIndexByte(item, '=')
	label := strings.Trim(item[:eq], "'")
	require.Equal(t, label, p.Label, item)
	fields := strings.Split(item[eq+1:], ";")
	value := strings.TrimRight(fields[0], "Bc%")
	requireSameNumber(t, value, p.Value, item)
	require.Equal(t, fields[0][len(value):], p.UOM, item)
	for len(fields) < 5 {
		fields = append(fields, "")
	}
	for k, pr := range map[int]*perlRange{1: p.Warning, 2: p.Critical} {
		if fields[k] == "" {
			require.Nil(t, pr, item)
			continue
		}
		require.NotNil(t, pr, item)
		r, err := plugin.ParseRange(fields[k])
		require.NoError(t, err, item)
		require.Equal(t, r.NoStart, pr.StartInfinity == 1, item)
		require.Equal(t, r.NoEnd, pr.EndInfinity == 1, item)
		require.Equal(t, r.Inside, pr.Inside == 1, item)
		if !r.NoStart {
			requireSameNumber(t, plugin.FormatNumber(r.Start), pr.Start, item)
		}
		if !r.NoEnd {
			requireSameNumber(t, plugin.FormatNumber(r.End), pr.End, item)
		}
	}
	for k, pv := range map[int]string{3: p.Min, 4: p.Max} {
		if fields[k] == "" {
			require.Empty(t, pv, item)
		} else {
			requireSameNumber(t, fields[k], pv, item)
		}
	}
}

// requireSameNumber compares decimal strings as numbers: Perl prints large
// floats with 15 significant digits.
func requireSameNumber(t *testing.T, ours, perl, item string) {
	t.Helper()
	a, err := strconv.ParseFloat(ours, 64)
	require.NoError(t, err, item)
	b, err := strconv.ParseFloat(perl, 64)
	require.NoError(t, err, item)
	require.LessOrEqual(t, math.Abs(a-b), 1e-12*math.Max(math.Abs(a), 1), "%s: ours %s, Perl %s", item, ours, perl)
}
