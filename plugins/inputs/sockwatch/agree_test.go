//go:build linux

package sockwatch

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// verdicts are the figures of one proc tree on which the check and the
// plugin must agree, written out as they are: nil where the figure is
// unknown (left out by both).
type verdicts struct {
	socketsUsed, numOtherSock *int64
	// pressure is the kernel's TCP memory pressure (0 or 1).
	pressure *int64
	// hostwide are the first run's host-wide events: TCPAbortOnMemory,
	// TCPMemoryPressures, TCPTimeWaitOverflow, Udp+Udp6 MemErrors.
	hostwide [4]int64
	// bcPercent is, by container ID, numothersock's held in percent of
	// the lower of barrier and limit; a missing ID has no share.
	bcPercent map[string]float64
	// filesShare says files has a share of file-max (not unlimited).
	filesShare bool
	// state is the check's exit code.
	state int
}

func i64(v int64) *int64 { return &v }

// TestCheckAndPluginAgree reads each proc tree of issue 12's cases with the
// plugin and with the built check, and holds both to the same exact figures.
func TestCheckAndPluginAgree(t *testing.T) {
	for tree, want := range map[string]verdicts{
		// The 2014 host (kernel 3.10): socket files, orphans left out.
		"out-of-socket-memory": {socketsUsed: i64(48476), numOtherSock: i64(314), pressure: i64(0),
			hostwide: [4]int64{1842, 3, 0, 1}, filesShare: true, state: 1},
		// In pressure below the pressure line: the kernel's flag decides.
		"tcp-pressure-below-line": {socketsUsed: i64(2210), numOtherSock: i64(2210 - 2101 - 3), pressure: i64(1),
			hostwide: [4]int64{0, 17, 4410, 0}, state: 1},
		"tcp-mem-pressure": {socketsUsed: i64(2210), numOtherSock: i64(106), pressure: i64(1),
			hostwide: [4]int64{0, 17, 4410, 0}, state: 2},
		"udp-mem-above-min": {socketsUsed: i64(324), numOtherSock: i64(323), pressure: i64(0),
			hostwide: [4]int64{0, 0, 0, 120 + 7}, filesShare: true, state: 1},
		// Refused at min(barrier, limit): LONG_MAX barrier, limit 400.
		"openvz-hard-limit": {socketsUsed: i64(428), numOtherSock: i64(399),
			bcPercent: map[string]float64{"101": 399 * 100.0 / 400}, filesShare: true, state: 2},
		"openvz-refused": {socketsUsed: i64(41), numOtherSock: i64(12),
			bcPercent: map[string]float64{"101": 12 * 100.0 / 360}, filesShare: true, state: 0},
		// No row 0: the host's figure computed, every container judged.
		"openvz-host-no-zero": {socketsUsed: i64(1204), numOtherSock: i64(1116), pressure: i64(0),
			bcPercent:  map[string]float64{"101": 342 * 100.0 / 360, "102": 12 * 100.0 / 360, "205": 291 * 100.0 / 300},
			filesShare: true, state: 2},
		// sockets: used -3: it and numothersock unknown, the rest judged.
		"negative-sockets-used": {pressure: i64(0), filesShare: true, state: 0},
		// sockstat6 unparsable: numothersock unknown, not used - TCP.
		"sockstat6-garbage": {socketsUsed: i64(5400), pressure: i64(0), filesShare: true, state: 0},
		// A 4.9 kernel with a container: the container's TCP taken off.
		"old-kernel-containers": {socketsUsed: i64(3000), numOtherSock: i64(3000 - (2500 + 100 - 400) - 300), pressure: i64(0),
			filesShare: true, state: 0},
	} {
		t.Run(tree, func(t *testing.T) {
			root := scenario(t, tree)
			// The plugin, with the host's page size as the check has it.
			s := &Sockwatch{ProcRoot: root, Counters: true, Log: testutil.Logger{}}
			require.NoError(t, s.Init())
			acc := gather(t, s)
			// The host series' gauge and counter points, as one.
			fields := map[string]any{}
			for _, m := range acc.GetTelegrafMetrics() {
				if m.Name() == "sockwatch" {
					for k, v := range m.Fields() {
						fields[k] = v
					}
				}
			}

			cmd := exec.Command(testenv.Build(t, "./cmd/check_sockwatch"), "--proc-root", root,
				"--state-file", filepath.Join(t.TempDir(), "state.json"))
			out, _, code := testenv.Run(t, cmd)
			require.Equal(t, want.state, code, out)
			first, _, _ := strings.Cut(out, "\n")
			_, perf, _ := strings.Cut(first, " | ")

			require.Contains(t, fields, "tcp_inuse", "the plugin sends what it could read")
			for _, f := range []struct {
				field, label string
				want         *int64
			}{
				{"sockets_used", "sockets_used", want.socketsUsed},
				{"numothersock", "numothersock", want.numOtherSock},
			} {
				v, inPlugin := fields[f.field]
				got, inCheck := perfValue(perf, f.label)
				if f.want == nil {
					require.False(t, inPlugin, "plugin %s: %v", f.field, v)
					require.False(t, inCheck, "check %s: %s", f.label, perf)
					continue
				}
				require.Equal(t, *f.want, v, "plugin %s", f.field)
				require.Equal(t, *f.want, got, "check %s: %s", f.label, perf)
			}

			v, inPlugin := fields["tcp_mem_pressure"]
			if want.pressure == nil {
				require.False(t, inPlugin)
			} else {
				require.Equal(t, *want.pressure, v, "plugin tcp_mem_pressure")
				said := map[int64]string{0: ", not in memory pressure", 1: ", TCP in memory pressure"}[*want.pressure]
				require.Contains(t, out, "\ntcp_mem: ", out)
				require.Regexp(t, regexp.MustCompile(`\ntcp_mem: [A-Z]+ [^;\n]*`+regexp.QuoteMeta(said)), out)
			}

			for i, name := range []string{"tcp_abort_on_memory", "tcp_memory_pressures", "tcp_tw_overflow", "udp_mem_errors"} {
				require.Equal(t, want.hostwide[i], fields["hostwide_"+name], "plugin hostwide_%s", name)
				require.Contains(t, strings.Fields(perf), name+"="+strconv.FormatInt(want.hostwide[i], 10)+"c", "check %s", name)
			}

			for _, m := range acc.GetTelegrafMetrics() {
				if m.Name() != "sockwatch_beancounter" || m.Tags()["resource"] != "numothersock" {
					continue
				}
				id := m.Tags()["ctid"]
				p, has := m.GetField("used_percent")
				wantP, limited := want.bcPercent[id]
				require.Equal(t, limited, has, "container %s used_percent", id)
				if !limited {
					continue
				}
				require.InDelta(t, wantP, p, 1e-9, "plugin container %s", id)
				// The check's perfdata maximum is where it is refused.
				label := "numothersock_" + id
				if !strings.Contains(perf, label+"=") {
					label = "numothersock"
				}
				held, limit, ok := perfValueMax(perf, label)
				if !ok {
					continue // an OK container other than the own has no perfdata
				}
				require.InDelta(t, wantP, float64(held)*100/float64(limit), 1e-9, "check container %s: %s", id, perf)
			}

			_, share := fields["files_used_percent"]
			require.Equal(t, want.filesShare, share, "plugin files_used_percent")
			require.Equal(t, !want.filesShare, strings.Contains(out, "file-max unlimited"), out)
		})
	}
}

// perfValue is the value of label in perfdata, without its unit.
func perfValue(perf, label string) (int64, bool) {
	for _, item := range strings.Fields(perf) {
		if v, ok := strings.CutPrefix(item, label+"="); ok {
			v, _, _ = strings.Cut(v, ";")
			n, err := strconv.ParseInt(strings.TrimRight(v, "Bc"), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// perfValueMax is the value and the maximum of label in perfdata.
func perfValueMax(perf, label string) (value, maximum int64, ok bool) {
	for _, item := range strings.Fields(perf) {
		if rest, found := strings.CutPrefix(item, label+"="); found {
			parts := strings.Split(rest, ";")
			if len(parts) < 5 || parts[4] == "" {
				return 0, 0, false
			}
			v, err1 := strconv.ParseInt(parts[0], 10, 64)
			m, err2 := strconv.ParseInt(parts[4], 10, 64)
			return v, m, err1 == nil && err2 == nil
		}
	}
	return 0, 0, false
}
