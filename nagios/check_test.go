package nagios_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// pages formats n pages of this host in bytes, as the check converts them.
func pages(n int64) string { return fmt.Sprint(n * int64(os.Getpagesize())) }

// TestScenarios runs the built check on every scenario of testdata and
// checks its exit code, summary and performance data.
func TestScenarios(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		args     []string
		code     int
		first    string   // the whole summary, up to " | "
		perf     []string // items that must appear exactly
		noPerf   []string // labels that must not appear
		long     []string // substrings of the long output
	}{
		{scenario: "quiet-host", code: 0,
			first: "SOCKWATCH OK - 7 metrics OK, nearest to its limit: files 487 of file-max 2466170 (0.0%)",
			perf: []string{"sockets_used=14;;;0", "numothersock=13;;;0", "orphans=0;26214;32768;0;131072",
				"tcp_mem=0B;" + pages(383867) + ";" + fmt.Sprint(575796*os.Getpagesize()*90/100) + ";0;" + pages(575796),
				"tw=0;104857;124518;0;131072", "files=487;1972936;2342861;0;2466170",
				"tcp_abort_on_memory=0c", "tcp_memory_pressures=0c", "tcp_tw_overflow=0c", "udp_mem_errors=0c"},
			long: []string{"state: no baseline yet (first run)"}},
		// The forum post's host: orphans at 24.2% of tcp_max_orphans are 96.7%
		// of it under the 4x penalty, so the kernel is about to kill them.
		{scenario: "out-of-socket-memory", code: 1,
			first: "SOCKWATCH WARNING - orphans 126800 of tcp_max_orphans 524288 (24.2%, 96.7% under the 4x penalty), warning at 20% = 104857",
			perf: []string{"orphans=126800;104857;131072;0;524288", "tw=153787;209715;249036;0;262144",
				"tcp_mem=" + pages(102910) + "B;" + pages(4641024), "sockets_used=48476;;;0",
				// A 3.10 kernel: socket files, orphans left out.
				"numothersock=314;;;0",
				"tcp_abort_on_memory=1842c", "tcp_memory_pressures=3c", "udp_mem_errors=1c"},
			long: []string{"orphans: WARNING 126800 of tcp_max_orphans 524288",
				"; raise net.ipv4.tcp_max_orphans (now 524288) to at least 1048576, above the limit in force and 4x the 126800 orphans now" +
					" (the kernel may count each 4 times; base it on the peak if it was higher); 1048576 orphans can pin up to 64.0 GiB" +
					" of unswappable memory, 64.0 KiB each"}},
		{scenario: "tcp-mem-pressure", code: 2,
			first: "SOCKWATCH CRITICAL - tw 176000 of tcp_max_tw_buckets 180000 (97.8%), critical at 95% = 171000, also tcp_mem CRITICAL",
			perf: []string{"tw=176000;144000;171000;0;180000", "tcp_mem=" + pages(171000) + "B;" + pages(125854),
				// file-max at LONG_MAX is unlimited: no threshold, no maximum.
				"files=6240;;;0", "tcp_tw_overflow=4410c"},
			long: []string{"tcp_mem: CRITICAL", "TCP in memory pressure",
				"pressure line " + pages(125854) + " B (125854 pages), max line " + pages(188778) + " B (188778 pages)",
				// 1.25 x 171000/125854 = 1.698: every line scaled by it, never lower.
				`suggested net.ipv4.tcp_mem="160310 213750 320620" (pages)`,
				"raise net.ipv4.tcp_max_tw_buckets to at least 360000", "\nfiles: OK 6240, file-max unlimited\n"}},
		{scenario: "no-ipv6", code: 0, first: "SOCKWATCH OK - 7 metrics OK, nearest to its limit: files 52832 of file-max 3247203 (1.6%)",
			perf: []string{"numothersock=271;;;0", "orphans=2;3276;4096;0;16384"}},
		{scenario: "host-proc-in-container", code: 0,
			perf: []string{"sockets_used=905;;;0", "orphans=1;3276;4096;0;16384", "tw=33;209715;249036;0;262144"}},
		{scenario: "openvz-container", code: 1,
			first: "SOCKWATCH WARNING - container 101 numothersock 342 of barrier 360 (95.0%), warning at 80% = 288",
			perf:  []string{"numothersock=342;288;342;0;360", "numothersock_failcnt=1294c", "tw=3;3276;3891;0;4096", "orphans=0;;;0"},
			long:  []string{"vzctl set 101 --numothersock 720:720 --save"}},
		{scenario: "openvz-host", code: 2,
			first: "SOCKWATCH CRITICAL - container 205 numothersock 291 of barrier 300 (97.0%), critical at 95% = 285, also container 101 numothersock WARNING",
			perf: []string{"numothersock=118;;;0", "numothersock_failcnt=0c", "numothersock_101=342;288;342;0;360",
				"numothersock_205=291;240;285;0;300", "orphans=3;52428;65536;0;262144"},
			long: []string{"host (container 0) numothersock: OK 118, barrier and limit unlimited", "container 205 numothersock: CRITICAL 291 of barrier 300"}},
		{scenario: "virtuozzo7", code: 0,
			perf: []string{"numothersock=20;;;0", "tw=1;3276;3891;0;4096", "files=334;9600;11400;0;12000"},
			long: []string{"container 331 numothersock: OK 20, barrier and limit unlimited"}},
		{scenario: "garbage-sources", code: 0,
			perf: []string{"sockets_used=371;;;0", "tw=3;209715;249036;0;262144"},
			// sockstat6 unreadable: numothersock unknown, not "used - TCP".
			long: []string{"beancounters: unreadable (", "unreadable: ", "tcp_max_orphans", "\nnumothersock: OK unknown\n"}},
		// The kernel says TCP is in pressure though memory is below the
		// pressure line (it leaves pressure only at the min line).
		{scenario: "tcp-pressure-below-line", code: 1,
			first: "SOCKWATCH WARNING - tcp_mem 429.7 MiB of tcp_mem max 737.4 MiB (58.3%), TCP in memory pressure, warning when in memory" +
				" pressure (the kernel's flag in net/protocols; it leaves pressure at the min line 368.7 MiB)",
			perf: []string{"tcp_mem=" + pages(110000) + "B;" + pages(125854) + ";" + fmt.Sprint(188778*os.Getpagesize()*90/100) + ";0;" + pages(188778)},
			long: []string{`suggested net.ipv4.tcp_mem="117987 157318 235973" (pages)`}},
		// UDP has no pressure mode: above udp_mem's min line the kernel
		// refuses receive memory; MemErrors of Udp and Udp6 add up.
		{scenario: "udp-mem-above-min", code: 1,
			first: "SOCKWATCH WARNING - udp_mem 2.3 GiB of udp_mem max 4.4 GiB (52.1%), warning at min line 2.2 GiB",
			perf: []string{"udp_mem=" + pages(600000) + "B;" + pages(575799) + ";" + fmt.Sprint(1151598*os.Getpagesize()*90/100) + ";0;" + pages(1151598),
				"udp_mem_errors=127c"},
			long: []string{`suggested net.ipv4.udp_mem="750000 1000003 1500000" (pages)`}},
		// numothersock is refused at min(barrier, limit): a LONG_MAX
		// barrier with limit 400 and 399 held is critical.
		{scenario: "openvz-hard-limit", code: 2,
			first: "SOCKWATCH CRITICAL - container 101 numothersock 399 of limit 400 (99.8%), critical at 95% = 380",
			perf:  []string{"numothersock=399;320;380;0;400"},
			long: []string{"raise the numothersock barrier of container 101 (now unlimited, limit 400) to at least 800 (2x the highest of" +
				" where it is refused, 400, maxheld 399 and held 399), e.g. vzctl set 101 --numothersock 800:800 --save"}},
		// A host's file without a row 0: every container judged, the
		// host's own computed.
		{scenario: "openvz-host-no-zero", code: 2,
			first: "SOCKWATCH CRITICAL - container 205 numothersock 291 of barrier 300 (97.0%), critical at 95% = 285, also container 101 numothersock WARNING",
			perf:  []string{"numothersock=1116;;;0", "numothersock_101=342;288;342;0;360", "numothersock_205=291;240;285;0;300"},
			long:  []string{"\nnumothersock: OK 1116\n"}},
		// sockets: used -3: it and numothersock unknown, the rest judged.
		{scenario: "negative-sockets-used", code: 0,
			first:  "SOCKWATCH OK - 7 metrics OK, nearest to its limit: files 487 of file-max 2466170 (0.0%)",
			perf:   []string{"orphans=0;26214;32768;0;131072", "tw=0;104857;124518;0;131072", "tcp_abort_on_memory=0c"},
			noPerf: []string{"sockets_used", "numothersock"},
			long:   []string{"sockets_used: OK unknown", "numothersock: OK unknown", "sockets: used is -3"}},
		// sockstat6 unparsable: numothersock unknown, not 5400 - 1200.
		{scenario: "sockstat6-garbage", code: 0, perf: []string{"sockets_used=5400;;;0"}, noPerf: []string{"numothersock"},
			long: []string{"numothersock: OK unknown", "sockstat6:2: "}},
		// Orphans at 76% of the kernel's kill line are nearer than tw at
		// 58.7% of its limit (73% of its warning).
		{scenario: "nearest-orphans", code: 0,
			first: "SOCKWATCH OK - 7 metrics OK, nearest to its limit: orphans 99614 of tcp_max_orphans 524288 (19.0%, 76.0% under the 4x penalty)"},
		// Kernel 4.9: socket files host-wide, a container's TCP taken off.
		{scenario: "old-kernel-containers", code: 0, perf: []string{"numothersock=500;;;0", "sockets_used=3000;;;0"}},
		{scenario: "truncated-sockstat", code: 3, first: "SOCKWATCH UNKNOWN - cannot read socket statistics: "},
		{scenario: "binary-sockstat", code: 3, first: "SOCKWATCH UNKNOWN - cannot read socket statistics: "},
		// Thresholds given on the command line, in percent and absolute.
		{scenario: "quiet-host", args: []string{"-c", "sockets_used=10", "-w", "files=@400:500"}, code: 2,
			first: "SOCKWATCH CRITICAL - sockets_used 14, critical at 10, also files WARNING",
			perf:  []string{"sockets_used=14;;10;0", "files=487;;2342861;0;2466170"}},
		{scenario: "out-of-socket-memory", args: []string{"--only", "tw,files", "-w", "tw=50%"}, code: 1,
			first: "SOCKWATCH WARNING - tw 153787 of tcp_max_tw_buckets 262144 (58.7%), warning at 50% = 131072",
			perf:  []string{"tw=153787;131072;249036;0;262144", "tcp_tw_overflow=0c"}},
		// tcp_max_orphans is unknown in a container: a percent threshold
		// given for it cannot be applied, which is UNKNOWN, not OK.
		{scenario: "openvz-container", args: []string{"--only", "orphans", "-w", "orphans=10%"}, code: 3,
			first: "SOCKWATCH UNKNOWN - orphans 0, tcp_max_orphans not readable here: warning threshold 10% needs tcp_max_orphans, which is not known here"},
	} {
		t.Run(tc.scenario+strings.Join(tc.args, ""), func(t *testing.T) {
			args := append([]string{"--proc-root", fixture(t, tc.scenario), "--state-file", filepath.Join(t.TempDir(), "state.json")}, tc.args...)
			o := check(t, args...)
			require.Equal(t, tc.code, o.code, o.all)
			if tc.code == 3 && tc.first != "" {
				require.True(t, strings.HasPrefix(o.first, tc.first), o.all)
			} else if tc.first != "" {
				require.Equal(t, tc.first, o.first, o.all)
			}
			items := perfItems(o.perf)
			for _, want := range tc.perf {
				found := false
				for _, it := range items {
					found = found || it == want || strings.HasPrefix(it, want+";")
				}
				require.True(t, found, "perfdata %q missing in %q", want, o.perf)
			}
			for _, label := range tc.noPerf {
				require.NotContains(t, o.perf, label+"=")
			}
			long := "\n" + strings.Join(o.long, "\n")
			for _, want := range tc.long {
				require.Contains(t, long, want)
			}
			if tc.code != 3 {
				require.NotContains(t, o.perf, "e+", "no scientific notation")
				require.NotContains(t, o.perf, "  ", "one space between items")
			}
		})
	}
}

// TestCounterGrowth checks the state file's baseline with --hold 0, one
// alert per growth: the first run only takes it, growth alerts once, a
// decrease (a reboot) is a restart counted from zero.
func TestCounterGrowth(t *testing.T) {
	root := copyTree(t, fixture(t, "out-of-socket-memory"))
	netstat := filepath.Join(root, "net", "netstat")
	state := filepath.Join(t.TempDir(), "state.json")
	run := func() output {
		return check(t, "--proc-root", root, "--state-file", state, "--only", "tcp_mem", "--hold", "0")
	}
	runTW := func() output {
		return check(t, "--proc-root", root, "--state-file", state, "--only", "tw", "--hold", "0")
	}

	o := run()
	require.Equal(t, 0, o.code, o.all)
	require.Contains(t, o.all, "state: no baseline yet (first run)")
	require.Equal(t, 0, runTW().code)

	testenv.SetCounter(t, netstat, "TcpExt", "TCPAbortOnMemory", "1850")
	o = run()
	require.Equal(t, 2, o.code, o.all)
	require.Regexp(t, `^SOCKWATCH CRITICAL - tcp_abort_on_memory grew by 8, last 0s ago at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+$`, o.first)
	require.Contains(t, o.all, "tcp_abort_on_memory: CRITICAL 1850, grew by 8, last 0s ago")
	require.NotContains(t, o.all, "held until", "nothing is held with --hold 0")
	require.Contains(t, o.all, "net.ipv4.tcp_max_orphans")
	require.Contains(t, o.perf, "tcp_abort_on_memory=1850c")

	o = run()
	require.Equal(t, 0, o.code, "no growth since the last run: OK again\n%s", o.all)

	testenv.SetCounter(t, netstat, "TcpExt", "TCPMemoryPressures", "5")
	o = run()
	require.Equal(t, 1, o.code, o.all)
	require.Contains(t, o.first, "tcp_memory_pressures grew by 2")
	require.Contains(t, o.all, "pressure line 19009634304 B (4641024 pages)")

	// A counter below its baseline restarted: what it holds now is growth.
	testenv.SetCounter(t, netstat, "TcpExt", "TCPAbortOnMemory", "3")
	o = run()
	require.Equal(t, 2, o.code, "a restarted counter counts from zero\n%s", o.all)
	require.Contains(t, o.first, "tcp_abort_on_memory grew by 3 (counted from zero after a restart), last 0s ago")
	require.Contains(t, o.all, "tcp_abort_on_memory of the host's network namespace went down from 1850 to 3: it restarted"+
		" (a reboot, a container restarted), counted again from zero")
	require.Contains(t, o.perf, "tcp_abort_on_memory=1853c", "the host-wide total never decreases")
	o = run()
	require.Equal(t, 0, o.code, o.all)
	// Restarted at 0: nothing to report, a new baseline.
	testenv.SetCounter(t, netstat, "TcpExt", "TCPAbortOnMemory", "0")
	o = run()
	require.Equal(t, 0, o.code, o.all)
	require.Contains(t, o.all, "went down from 3 to 0")

	// tw's counter is not tied to tcp_mem: with --only tcp_mem it is not
	// reported, but its growth is recorded for the services that report it.
	testenv.SetCounter(t, netstat, "TcpExt", "TCPTimeWaitOverflow", "9")
	o = run()
	require.Equal(t, 0, o.code, o.all)
	require.NotContains(t, o.all, "tcp_tw_overflow")
	o = runTW()
	require.Equal(t, 1, o.code, o.all)
	require.Contains(t, o.first, "tcp_tw_overflow grew by 9")
}

// backdate moves every time in a state file d back, as if its runs and the
// growth it recorded happened d earlier.
func backdate(t *testing.T, path string, d time.Duration) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var st map[string]any
	require.NoError(t, json.Unmarshal(data, &st))
	shift := func(v any) any {
		tm, err := time.Parse(time.RFC3339Nano, v.(string))
		require.NoError(t, err)
		return tm.Add(-d).Format(time.RFC3339Nano)
	}
	st["saved"] = shift(st["saved"])
	for _, g := range st["growth"].(map[string]any) {
		g := g.(map[string]any)
		g["first"], g["last"] = shift(g["first"]), shift(g["last"])
	}
	runs := st["runs"].(map[string]any)
	for k, v := range runs {
		runs[k] = shift(v)
	}
	data, err = json.Marshal(st)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

// TestHeldGrowth: with the default --hold a counter that grew stays
// CRITICAL on every run, so that a core's max_check_attempts reach a HARD
// state, until it has not grown for 15 minutes; growth within the hold adds
// up.
func TestHeldGrowth(t *testing.T) {
	root := copyTree(t, fixture(t, "out-of-socket-memory"))
	netstat := filepath.Join(root, "net", "netstat")
	state := filepath.Join(t.TempDir(), "state.json")
	run := func() output { return check(t, "--proc-root", root, "--state-file", state, "--only", "tcp_mem") }

	require.Equal(t, 0, run().code)
	testenv.SetCounter(t, netstat, "TcpExt", "TCPAbortOnMemory", "1850")
	for range 3 {
		o := run()
		require.Equal(t, 2, o.code, "held\n%s", o.all)
		require.Contains(t, o.first, "tcp_abort_on_memory grew by 8, last ")
		require.Contains(t, o.all, "; held until 15m0s without growth (")
	}
	backdate(t, state, 10*time.Minute)
	o := run()
	require.Equal(t, 2, o.code, o.all)
	require.Regexp(t, `grew by 8, last 10m0s ago at `, o.first)

	// More growth within the hold adds up, and moves the hold on.
	testenv.SetCounter(t, netstat, "TcpExt", "TCPAbortOnMemory", "1852")
	o = run()
	require.Equal(t, 2, o.code, o.all)
	require.Regexp(t, `^SOCKWATCH CRITICAL - tcp_abort_on_memory grew by 10 since \S+ \S+ \w+, last 0s ago at `, o.first)
	backdate(t, state, 14*time.Minute)
	require.Equal(t, 2, run().code, "14 minutes after the last growth: still held")
	backdate(t, state, 2*time.Minute)
	o = run()
	require.Equal(t, 0, o.code, "16 minutes without growth: released\n%s", o.all)
	require.Contains(t, o.perf, "tcp_abort_on_memory=1852c")

	// A hold given in seconds, and a bad one.
	testenv.SetCounter(t, netstat, "TcpExt", "TCPAbortOnMemory", "1853")
	o = check(t, "--proc-root", root, "--state-file", state, "--only", "tcp_mem", "--hold", "60")
	require.Equal(t, 2, o.code, o.all)
	require.Contains(t, o.all, "held until 1m0s without growth")
	o = check(t, "--proc-root", root, "--state-file", state, "--hold", "-5m")
	require.Equal(t, 3, o.code, o.all)
	require.Contains(t, o.first, `invalid value "-5m" for flag -hold: want a duration`)
}

// TestSharedGrowth: the services of one host share the state file, so that
// each sees the same growth, whatever --only and --top, and whichever runs
// first: with the hold, and with --hold 0 as long as a service has not run
// since the growth.
func TestSharedGrowth(t *testing.T) {
	for _, hold := range []string{"15m", "0"} {
		t.Run("hold="+hold, func(t *testing.T) {
			root := copyTree(t, fixture(t, "openvz-host"))
			state := filepath.Join(t.TempDir(), "state.json")
			a := func() output { return check(t, "--proc-root", root, "--state-file", state, "--hold", hold) }
			b := func() output {
				return check(t, "--proc-root", root, "--state-file", state, "--hold", hold, "--top", "2", "--only", "numothersock,orphans")
			}
			require.NotEqual(t, 3, a().code)
			require.NotEqual(t, 3, b().code)
			netstat := filepath.Join(root, "net", "netstat")
			testenv.SetCounter(t, netstat, "TcpExt", "TCPAbortOnMemory", "5")
			bc := filepath.Join(root, "user_beancounters")
			data, err := os.ReadFile(bc)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(bc, []byte(strings.Replace(string(data), "1294", "1301", 1)), 0o644))

			for _, o := range []output{a(), b()} {
				require.Equal(t, 2, o.code, o.all)
				require.Contains(t, o.all, "tcp_abort_on_memory: CRITICAL 5, grew by 5, last ")
				require.Contains(t, o.all, "container 101 numothersock failcnt: CRITICAL 1301, grew by 7, last ")
			}
			oa, ob := a(), b()
			if hold == "0" {
				require.NotContains(t, oa.all, "grew by", "each service reported it once")
				require.NotContains(t, ob.all, "grew by", "each service reported it once")
			} else {
				require.Contains(t, oa.all, "tcp_abort_on_memory: CRITICAL 5, grew by 5")
				require.Contains(t, ob.all, "container 101 numothersock failcnt: CRITICAL 1301, grew by 7")
			}
		})
	}
}

// TestStateVersion1: a state file of the previous version, one per --only
// set, counters only, is a baseline.
func TestStateVersion1(t *testing.T) {
	root := copyTree(t, fixture(t, "out-of-socket-memory"))
	state := filepath.Join(t.TempDir(), "state.json")
	v1 := fmt.Sprintf(`{"version":1,"proc_root":%q,"only":"tcp_mem","saved":"2026-01-02T03:04:05Z",`+
		`"counters":{"tcp_abort_on_memory":1840,"tcp_memory_pressures":3,"tcp_tw_overflow":0}}`, root)
	require.NoError(t, os.WriteFile(state, []byte(v1), 0o600))
	o := check(t, "--proc-root", root, "--state-file", state)
	require.Equal(t, 2, o.code, o.all)
	require.Contains(t, o.first, "tcp_abort_on_memory grew by 2, last 0s ago")
	require.NotContains(t, o.all, "state:")
	data, err := os.ReadFile(state)
	require.NoError(t, err)
	require.Contains(t, string(data), `"version":2`)
	require.NotContains(t, string(data), `"only"`)
}

func TestFailcntGrowth(t *testing.T) {
	root := copyTree(t, fixture(t, "openvz-host"))
	state := filepath.Join(t.TempDir(), "state.json")
	run := func() output {
		return check(t, "--proc-root", root, "--state-file", state, "--only", "numothersock",
			"-w", "numothersock=1000", "-c", "numothersock=1000")
	}
	o := run()
	require.Equal(t, 0, o.code, o.all)
	bc := filepath.Join(root, "user_beancounters")
	data, err := os.ReadFile(bc)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bc, []byte(strings.Replace(string(data), "1294", "1301", 1)), 0o644))
	o = run()
	require.Equal(t, 2, o.code, o.all)
	require.Regexp(t, `^SOCKWATCH CRITICAL - container 101 numothersock failcnt grew by 7, last 0s ago at `, o.first)
	require.Contains(t, o.all, "raise the numothersock barrier of container 101 (now 360, limit 360) to at least 720")
}

func TestStateFileTrouble(t *testing.T) {
	root := fixture(t, "quiet-host")
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")

	for content, note := range map[string]string{
		"garbage{":        "is corrupt",
		`{"version": 99}`: "has version 99, not 2: replaced",
		`{"version": 1, "proc_root": "/elsewhere", "counters": {}}`: `belongs to proc root "/elsewhere"`,
	} {
		require.NoError(t, os.WriteFile(state, []byte(content), 0o600))
		o := check(t, "--proc-root", root, "--state-file", state)
		require.Equal(t, 0, o.code, o.all)
		require.Contains(t, o.all, note)
		o = check(t, "--proc-root", root, "--state-file", state)
		require.Equal(t, 0, o.code, o.all)
		require.NotContains(t, o.all, "state:", "replaced by a good baseline\n%s", o.all)
	}

	// A symbolic link is neither followed nor replaced.
	target := filepath.Join(dir, "target")
	require.NoError(t, os.WriteFile(target, []byte("keep"), 0o600))
	link := filepath.Join(dir, "link.json")
	require.NoError(t, os.Symlink(target, link))
	o := check(t, "--proc-root", root, "--state-file", link)
	require.Equal(t, 0, o.code, o.all)
	require.Contains(t, o.all, "is a symbolic link, not followed; counter growth is not checked")
	data, err := os.ReadFile(target)
	require.NoError(t, err)
	require.Equal(t, "keep", string(data))

	// A state file that cannot be written: the check still reports.
	o = check(t, "--proc-root", root, "--state-file", filepath.Join(dir, "missing", "state.json"))
	require.Equal(t, 0, o.code, o.all)
	require.Contains(t, o.all, "state: cannot save")
	require.Contains(t, o.perf, "orphans=")

	// Checks writing one state file at once leave a whole file and no
	// temporary ones.
	shared := filepath.Join(dir, "shared.json")
	done := make(chan output)
	for range 8 {
		go func() { done <- check(t, "--proc-root", root, "--state-file", shared) }()
	}
	for range 8 {
		o := <-done
		require.Equal(t, 0, o.code, o.all)
	}
	o = check(t, "--proc-root", root, "--state-file", shared, "-v")
	require.Contains(t, o.all, "state: "+shared+", baseline of ")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasSuffix(e.Name(), ".tmp"), "temporary file left: %s", e.Name())
	}
}

// requireRoot fails a test that runs the check as another user.
func requireRoot(t *testing.T) {
	t.Helper()
	require.Equal(t, 0, os.Geteuid(), "this test runs the check as nobody, which needs root (CI runs as root)")
}

// nobody is the unprivileged user the tests run the check as.
var nobody = &syscall.Credential{Uid: 65534, Gid: 65534}

// TestDefaultStateFile checks the per-user default: under
// ~/.local/state/sockwatch (or $XDG_STATE_HOME/sockwatch), directory 0700,
// file 0600, one file per proc root.
func TestDefaultStateFile(t *testing.T) {
	requireRoot(t)
	home := t.TempDir()
	require.NoError(t, os.Chmod(home, 0o755))
	require.NoError(t, os.Chown(home, 65534, 65534))
	require.NoError(t, os.Chmod(filepath.Dir(home), 0o755))
	for _, root := range []string{fixture(t, "quiet-host"), fixture(t, "no-ipv6")} {
		o := checkAs(t, nobody, []string{"HOME=" + home, "XDG_STATE_HOME="}, "--proc-root", root)
		require.Equal(t, 0, o.code, o.all)
		require.Contains(t, o.all, "state: no baseline yet")
		o = checkAs(t, nobody, []string{"HOME=" + home, "XDG_STATE_HOME="}, "--proc-root", root)
		require.NotContains(t, o.all, "state:", o.all)
	}
	dir := filepath.Join(home, ".local", "state", "sockwatch")
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	files, err := filepath.Glob(filepath.Join(dir, "check_sockwatch-*.json"))
	require.NoError(t, err)
	require.Len(t, files, 2, "one state file per proc root")
	for _, f := range files {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		require.Equal(t, uint32(65534), fi.Sys().(*syscall.Stat_t).Uid)
	}

	xdg := filepath.Join(home, "xdg")
	o := checkAs(t, nobody, []string{"HOME=" + home, "XDG_STATE_HOME=" + xdg}, "--proc-root", fixture(t, "quiet-host"))
	require.Equal(t, 0, o.code, o.all)
	files, err = filepath.Glob(filepath.Join(xdg, "sockwatch", "check_sockwatch-*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1)

	// Two services of one host, as Icinga runs them, share the default
	// state file whatever their --only and --top: each sees the growth.
	tree := copyTree(t, fixture(t, "out-of-socket-memory"))
	env := []string{"HOME=" + home, "XDG_STATE_HOME=" + filepath.Join(home, "shared")}
	tcp := func() output { return checkAs(t, nobody, env, "--proc-root", tree, "--only", "tcp_mem") }
	top := func() output { return checkAs(t, nobody, env, "--proc-root", tree, "--top", "1") }
	require.NotEqual(t, 3, tcp().code)
	require.NotEqual(t, 3, top().code)
	testenv.SetCounter(t, filepath.Join(tree, "net", "netstat"), "TcpExt", "TCPAbortOnMemory", "1850")
	for _, o := range []output{tcp(), top(), tcp(), top()} {
		require.Equal(t, 2, o.code, o.all)
		require.Contains(t, o.first, "tcp_abort_on_memory grew by 8, last ")
	}
	files, err = filepath.Glob(filepath.Join(home, "shared", "sockwatch", "check_sockwatch-*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1, "one state file for both")

	// A state directory others can write is not used.
	require.NoError(t, os.Chmod(filepath.Join(xdg, "sockwatch"), 0o777))
	o = checkAs(t, nobody, []string{"HOME=" + home, "XDG_STATE_HOME=" + xdg}, "--proc-root", fixture(t, "quiet-host"))
	require.Equal(t, 0, o.code, o.all)
	require.Contains(t, o.all, "is writable by group or others (want 0700); counter growth is not checked")
}

// TestUnprivilegedBeancounters: OpenVZ's user_beancounters is root-only; an
// unprivileged check reports it unreadable and carries on.
func TestUnprivilegedBeancounters(t *testing.T) {
	requireRoot(t)
	root := copyTree(t, fixture(t, "openvz-container"))
	require.NoError(t, os.Chmod(filepath.Join(root, "user_beancounters"), 0o400))
	state := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.Chmod(filepath.Dir(state), 0o777))
	o := checkAs(t, nobody, nil, "--proc-root", root, "--state-file", state)
	require.Equal(t, 0, o.code, o.all)
	require.Contains(t, o.all, "\nbeancounters: unreadable (")
	require.Contains(t, o.all, "permission denied")
	require.Contains(t, o.perf, "numothersock=342;;;0", "numothersock computed from sockstat instead")
	require.Contains(t, o.perf, "tw=3;")
}

func TestUnknown(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-w", "bogus=1"}, `invalid value "bogus=1" for flag -w: unknown metric "bogus"`},
		{[]string{"--critical", "tw=20:10"}, `invalid value "tw=20:10" for flag -critical: tw: range "20:10": start 20 is greater than end 10`},
		{[]string{"-w", "tw"}, `for flag -w: want METRIC=RANGE`},
		{[]string{"--only", "tw,nope"}, `for flag -only: unknown metric "nope"`},
		{[]string{"--top", "-3"}, `for flag -top`},
		{[]string{"-t", "0"}, `for flag -t`},
		{[]string{"--frobnicate"}, `flag provided but not defined: -frobnicate`},
		{[]string{"--proc-root", "/nonexistent"}, `cannot read socket statistics: /nonexistent/net/sockstat: no such file or directory`},
	} {
		o := check(t, tc.args...)
		require.Equal(t, 3, o.code, o.all)
		require.True(t, strings.HasPrefix(o.first, "SOCKWATCH UNKNOWN - "), o.all)
		require.Contains(t, o.first, tc.want)
	}

	o := check(t, "-h")
	require.Equal(t, 3, o.code)
	for _, want := range []string{"--warning METRIC=RANGE", "orphans: warning 20%, critical 25%", "4 times",
		"tcp_mem: warning in memory pressure, critical 90%", "udp_mem: warning the min line, critical 90%", "tw: warning 80%, critical 95%", "files: warning 80%, critical 95%",
		"numothersock: warning 80%, critical 95%", "barrier", "tcp_abort_on_memory: CRITICAL"} {
		require.Contains(t, o.all, want)
	}
	o = check(t, "-V")
	require.Equal(t, 3, o.code)
	require.True(t, strings.HasPrefix(o.all, "check_sockwatch "), o.all)
}

// TestTimeout: a proc file that blocks (here a FIFO no one writes) must not
// hang the check: -t gives UNKNOWN at once.
func TestTimeout(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "net"), 0o755))
	require.NoError(t, syscall.Mkfifo(filepath.Join(root, "net", "sockstat"), 0o644))
	start := time.Now()
	o := check(t, "--proc-root", root, "-t", "1")
	require.Equal(t, 3, o.code, o.all)
	require.Equal(t, "SOCKWATCH UNKNOWN - timed out after 1s reading "+root, o.first)
	require.Less(t, time.Since(start), 10*time.Second)
}

// TestLiveHost runs the check on this machine: it must give a verdict, not
// UNKNOWN, with every metric this kernel has in its performance data, and
// with --top list the owners.
func TestLiveHost(t *testing.T) {
	o := check(t, "--state-file", filepath.Join(t.TempDir(), "s.json"), "-v", "--top", "3")
	require.Contains(t, []int{0, 1, 2}, o.code, o.all)
	for _, label := range []string{"sockets_used=", "numothersock=", "orphans=", "tcp_mem=", "udp_mem=", "tw=", "files=", "tcp_abort_on_memory="} {
		require.Contains(t, o.perf, label)
	}
	require.Contains(t, o.all, "\nowners: ")
	require.Contains(t, o.all, "\nread: /proc/")
}
