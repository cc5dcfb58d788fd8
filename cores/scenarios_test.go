//go:build cores

package cores

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/drilltest"
	"github.com/sockwatch/sockwatch/internal/testenv"
)

// scenario is what one service of every core goes through.
type scenario struct {
	name  string
	flags []string                   // the check's flags, as the user sets them
	tree  func(*testing.T) string    // a fresh proc tree for one service
	run   func(*testing.T, *service) // drives the tree and asserts the core's verdicts
	// nrpeCaps are file capabilities the check is given under NRPE, as the
	// README tells NRPE users to give them.
	nrpeCaps string
	// nrpeShipped runs the shipped NRPE command check_sockwatch, as it is,
	// instead of one with flags.
	nrpeShipped bool
	// only names the one core that runs the scenario; all when empty.
	only string
}

// hold is the --hold of scenario 1: longer than three attempts take in
// every core, short enough for the test.
const hold = 12 * time.Second

// Waits: for a core's first result (starting up, first schedule), and
// for the three attempts to a HARD state (Nagios checks every 2 s).
const (
	firstWait = 60 * time.Second
	hardWait  = 40 * time.Second
)

var scenarios = []scenario{
	{name: "abort-on-memory", flags: []string{"--hold", hold.String()}, tree: quietHost, run: abortOnMemory},
	{name: "failcnt", tree: openVZContainer, run: failcntGrew, nrpeCaps: "cap_dac_read_search+ep"},
	{name: "hang", flags: []string{"-t", "3"}, tree: quietHost, run: hang, nrpeShipped: true},
	{name: "orphans-default", tree: quietHost, run: orphansDefault},
	{name: "orphans-15", flags: []string{"-w", "orphans=15%"}, tree: quietHost, run: orphansWarning},
	{name: "top", flags: []string{"--top", "10"}, tree: topTree, run: topIntact},
	{name: "drills", flags: []string{"--hold", drillHold.String()}, tree: hostProc, run: liveDrills, only: coreIcinga2},
}

// Scenario 1: TCPAbortOnMemory grows once and then stays. The core retries
// to HARD CRITICAL and pages once; once --hold has passed without growth,
// the service recovers and the recovery is paged.
func abortOnMemory(t *testing.T, s *service) {
	base := s.h.waitFor(t, 0, firstWait, "the first check, the baseline", isState("OK"))
	testenv.SetCounter(t, filepath.Join(s.tree, "1", "net", "netstat"), "TcpExt", "TCPAbortOnMemory", "105")
	grew := time.Now()
	hard := requireHardProblem(t, s, base, "CRITICAL")
	r := s.h.Results()[hard]
	require.Contains(t, r.Output, "tcp_abort_on_memory: CRITICAL", "the long output names the counter")
	require.Contains(t, r.Perf, "tcp_abort_on_memory=105c")
	requirePages(t, s, "PROBLEM CRITICAL HARD SOCKWATCH CRITICAL - tcp_abort_on_memory grew by 5")

	rec := s.h.waitFor(t, hard+1, hold+hardWait, "the recovery after --hold", isState("OK"))
	recovered := s.h.Results()[rec]
	require.Equal(t, "HARD", recovered.Type, "a recovery from a HARD problem is HARD")
	require.GreaterOrEqual(t, time.Since(grew), hold-time.Second, "recovered before --hold had passed")
	for _, r := range s.h.Results()[hard:rec] {
		require.Equal(t, "CRITICAL HARD", r.State+" "+r.Type, "held CRITICAL until the recovery:\n%s", describe(s.h.Results()))
	}
	requirePages(t, s, "PROBLEM CRITICAL HARD SOCKWATCH CRITICAL - tcp_abort_on_memory grew by 5",
		"RECOVERY OK HARD SOCKWATCH OK - ")
}

// Scenario 2: an OpenVZ container's numothersock failcnt grows once: HARD
// CRITICAL and one page, held (the default --hold, 15 minutes).
func failcntGrew(t *testing.T, s *service) {
	base := s.h.waitFor(t, 0, firstWait, "the first check, the baseline", isState("OK"))
	setFailcnt(t, s.tree, "1295")
	hard := requireHardProblem(t, s, base, "CRITICAL")
	require.Contains(t, s.h.Results()[hard].Output, "container 101 numothersock failcnt: CRITICAL 1295, grew by 1")
	requirePages(t, s, "PROBLEM CRITICAL HARD SOCKWATCH CRITICAL - container 101 numothersock failcnt grew by 1")
	later := s.h.waitFor(t, hard+2, hardWait, "two more checks", func(result) bool { return true })
	for _, r := range s.h.Results()[hard : later+1] {
		require.Equal(t, "CRITICAL HARD", r.State+" "+r.Type, "held CRITICAL:\n%s", describe(s.h.Results()))
	}
	requirePages(t, s, "PROBLEM CRITICAL HARD SOCKWATCH CRITICAL - container 101 numothersock failcnt grew by 1")
}

// Scenario 3: sockstat becomes a FIFO nobody writes, so that reading it
// hangs: each check gives up after -t with UNKNOWN, well within the core's
// own timeout, the core reaches HARD UNKNOWN and pages, and no check
// process is left hanging.
func hang(t *testing.T, s *service) {
	timeout := checkTimeout(t, s)
	base := s.h.waitFor(t, 0, firstWait, "the first check", isState("OK"))
	stop := watchChecks(t, s, timeout+2*time.Second)
	sockstat := filepath.Join(s.tree, "1", "net", "sockstat")
	require.NoError(t, syscall.Mkfifo(sockstat+".fifo", 0o644))
	require.NoError(t, os.Rename(sockstat+".fifo", sockstat))
	hard := requireHardProblem(t, s, base, "UNKNOWN")
	stop()
	timedOut := fmt.Sprintf("SOCKWATCH UNKNOWN - timed out after %v reading ", timeout)
	for _, r := range s.h.Results()[base+1 : hard+1] {
		if r.State == "OK" {
			continue // ran before the FIFO
		}
		require.Contains(t, r.Output, timedOut)
		if r.Duration > 0 {
			require.Less(t, r.Duration, timeout+2*time.Second, "the check ran past -t")
		}
	}
	requirePages(t, s, "PROBLEM UNKNOWN HARD "+timedOut)
}

// checkTimeout is the -t the service's check runs with: from its flags,
// or for the shipped NRPE command, from nrpe/sockwatch.cfg.
func checkTimeout(t *testing.T, s *service) time.Duration {
	t.Helper()
	flags := s.flags
	if s.core == coreNRPE && len(flags) == 0 {
		data, err := os.ReadFile(shippedConfig(t, "nrpe", "sockwatch.cfg"))
		require.NoError(t, err)
		m := regexp.MustCompile(`(?m)^command\[check_sockwatch\]=(.*)$`).FindSubmatch(data)
		require.NotNil(t, m, "the shipped NRPE command check_sockwatch")
		flags = strings.Fields(string(m[1]))
	}
	for i := 0; i+1 < len(flags); i++ {
		if flags[i] == "-t" {
			n, err := strconv.Atoi(flags[i+1])
			require.NoError(t, err)
			return time.Duration(n) * time.Second
		}
	}
	require.FailNow(t, "no -t", "%q", flags)
	return 0
}

// Scenario 5, the default thresholds: 20000 orphans of tcp_max_orphans
// 131072 (15.3%) are below the default warning (20%).
func orphansDefault(t *testing.T, s *service) {
	base := s.h.waitFor(t, 0, firstWait, "the first check", isState("OK"))
	setOrphans(t, s.tree, 20000)
	seen := base
	for range 3 {
		seen = s.h.waitFor(t, seen+1, hardWait, "a check that saw 20000 orphans", func(r result) bool {
			return strings.Contains(r.Output, "\norphans: OK 20000 ")
		})
	}
	for _, r := range s.h.Results() {
		require.Equal(t, "OK", r.State, "%s", r.Output)
	}
	require.Contains(t, s.h.Results()[seen].Output, "\norphans: OK 20000 of tcp_max_orphans 131072 (15.3%")
	require.Empty(t, s.h.Pages(t))
}

// Scenario 5, a threshold as users set it (vars.sockwatch_warning, $ARG1$,
// the NRPE command line): orphans=15% makes the same 20000 orphans WARNING.
func orphansWarning(t *testing.T, s *service) {
	base := s.h.waitFor(t, 0, firstWait, "the first check", isState("OK"))
	setOrphans(t, s.tree, 20000)
	hard := requireHardProblem(t, s, base, "WARNING")
	require.Contains(t, s.h.Results()[hard].Output, "\norphans: WARNING 20000 of tcp_max_orphans 131072 (15.3%")
	require.Contains(t, s.h.Results()[hard].Output, "warning at 15% = ")
	requirePages(t, s, "PROBLEM WARNING HARD SOCKWATCH WARNING - orphans 20000 of tcp_max_orphans 131072 (15.3%")
}

// The output of --top 10, longer than 1 KiB, with UNIX paths holding
// spaces, newlines, quotes, "=" and "|", arrives whole: the core's first
// line, long output and performance data are the check's own, as the
// check prints them when run by hand on the same tree. Nagios turns
// semicolons into colons in the first line, as it does for every plugin.
func topIntact(t *testing.T, s *service) {
	// The first run says it took a baseline: compare the second.
	got := s.h.waitResults(t, 2, firstWait)[1]
	var cred *syscall.Credential
	if s.core == coreNRPE {
		_, cred = nagiosUser(t)
	}
	state := filepath.Join(publicDir(t, filepath.Join(t.TempDir(), "state"), 0o700), "state.json")
	if cred != nil {
		require.NoError(t, os.Chown(filepath.Dir(state), int(cred.Uid), int(cred.Gid)))
	}
	var want string
	var code int
	for range 2 {
		want, code = runCheck(t, s.bin, cred, "--proc-root", s.tree, "--state-file", state, "--top", "10")
	}
	require.Equal(t, stateName(code), got.State, "the exit code arrived")
	require.Greater(t, len(want), 1024, "the check's output is longer than 1 KiB")
	first, rest, _ := strings.Cut(want, "\n")
	summary, perf, _ := strings.Cut(first, " | ")
	if s.core != coreIcinga2 {
		summary = strings.ReplaceAll(summary, ";", ":")
	}
	gotFirst, gotLong, _ := strings.Cut(got.Output, "\n")
	require.Equal(t, summary, strings.TrimSpace(gotFirst))
	require.Equal(t, strings.TrimRight(rest, "\n"), strings.TrimRight(gotLong, "\n"))
	require.Equal(t, perf, got.Perf)
	require.Contains(t, gotLong, `unix path "/srv/it's \"quoted\" a=1;b=2 ¦ x": 1 socket`)
}

// Scenario 4, live: the orphan drill, then the container orphan drill,
// through the host's check, its proc root left at the default. Each lowers
// tcp_max_orphans for a few seconds (under flock /tmp/sockwatch-global.lock,
// restored whatever happens) and has the kernel kill orphans in a drill
// namespace of its own, a container: TCPAbortOnMemory grows there, not in
// the host's namespace, and the check sums it over every namespace.
func liveDrills(t *testing.T, s *service) {
	base := s.h.waitFor(t, 0, firstWait, "the first check of this host, OK", isState("OK"))
	recovered := orphanDrill(t, s, base)
	containerOrphanDrill(t, s, recovered)
	requirePages(t, s, "PROBLEM CRITICAL HARD SOCKWATCH CRITICAL - ", "RECOVERY OK HARD SOCKWATCH OK - ",
		"PROBLEM CRITICAL HARD SOCKWATCH CRITICAL - tcp_abort_on_memory grew by ")
}

// drillHold is the --hold of the drills' service: the first drill's
// growth must have passed for the second to start from OK.
const drillHold = 10 * time.Second

// orphanDrill: with tcp_max_orphans at 2000, the drill makes 600 orphans,
// then floods past the limit.
// The orphans take the service to HARD CRITICAL and page; the kernel kills
// orphans; with the limit restored the orphans are OK again but the
// service stays CRITICAL, held by TCPAbortOnMemory's growth, and recovers
// once --hold has passed. It returns the index of the recovery.
func orphanDrill(t *testing.T, s *service, base int) int {
	t.Helper()
	const limit = 2000
	n := drilltest.Start(t, "drill-orphans", "drill-orphans")
	defer n.Stop()
	port := n.DoInt("tcp-listen hold 2048")
	base = waitNamespaceRead(t, s, base)
	restore := drilltest.LowerGlobal(t, 30*time.Second, []string{"net/ipv4/tcp_max_orphans"}, []string{fmt.Sprint(limit)})
	// First 30 % of the limit, which the kernel lets live: the orphans
	// alone take the service to HARD CRITICAL. A flood past the limit at
	// once would be killed before the third check could see it.
	n.Do("orphans %d %d 4096", port, limit*3/10)
	hard := requireHardProblem(t, s, base, "CRITICAL")
	out := s.h.Results()[hard].Output
	require.Contains(t, out, "\norphans: CRITICAL ")
	require.Contains(t, out, " of tcp_max_orphans 2000 ")
	// Then past the limit: the kernel kills orphans as they close and on
	// their timers, and the counter's growth is CRITICAL in turn.
	n.Do("orphans %d %d 4096", port, limit)
	counted := s.h.waitFor(t, hard, hardWait, "TCPAbortOnMemory's growth", func(r result) bool {
		return strings.Contains(r.Output, "\ntcp_abort_on_memory: CRITICAL ")
	})
	restore()
	require.Positive(t, n.Netstat()["TcpExt.TCPAbortOnMemory"], "the kernel killed no orphan past the limit")
	later := s.h.waitFor(t, counted+1, hardWait, "a check after the limit was restored", func(r result) bool {
		return strings.Contains(r.Output, "\norphans: OK ")
	})
	require.Contains(t, s.h.Results()[later].Output, "SOCKWATCH CRITICAL - tcp_abort_on_memory grew by ")
	rec := s.h.waitFor(t, later, drillHold+hardWait, "the recovery after --hold", isState("OK"))
	for _, r := range s.h.Results()[hard:rec] {
		require.Equal(t, "CRITICAL HARD", r.State+" "+r.Type, "held CRITICAL:\n%s", describe(s.h.Results()))
	}
	require.Equal(t, "HARD", s.h.Results()[rec].Type)
	return rec
}

// containerOrphanDrill: a container's orphans are killed under
// tcp_max_orphans at 300, restored as soon as the kernel has killed some,
// so that only TCPAbortOnMemory, counted in the container's namespace,
// takes the host's service through its retries to HARD CRITICAL.
func containerOrphanDrill(t *testing.T, s *service, base int) {
	t.Helper()
	const limit = 300
	n := drilltest.Start(t, "container", "container")
	port := n.DoInt("tcp-listen hold 2048")
	base = waitNamespaceRead(t, s, base)
	before := n.Netstat()["TcpExt.TCPAbortOnMemory"]
	restore := drilltest.LowerGlobal(t, 30*time.Second, []string{"net/ipv4/tcp_max_orphans"}, []string{fmt.Sprint(limit)})
	n.Do("orphans %d %d 4096", port, 2*limit)
	for deadline := time.Now().Add(10 * time.Second); n.Netstat()["TcpExt.TCPAbortOnMemory"] == before; time.Sleep(20 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the kernel killed no orphan past tcp_max_orphans %d", limit)
	}
	restore()
	hard := requireHardProblem(t, s, base, "CRITICAL")
	out := s.h.Results()[hard].Output
	require.Contains(t, out, "SOCKWATCH CRITICAL - tcp_abort_on_memory grew by ")
	require.Contains(t, out, "\norphans: OK ", "the limit is back: the counter alone is CRITICAL")
}

// waitNamespaceRead waits for a check that started after a drill's
// namespace: the check has read it before its load, as a long-running
// container's. It returns the index of that result.
func waitNamespaceRead(t *testing.T, s *service, from int) int {
	t.Helper()
	started := time.Now()
	return s.h.waitFor(t, from+1, hardWait, "a check that read the drill's namespace", func(r result) bool {
		return r.At.After(started)
	})
}

// requireHardProblem waits for the service to reach HARD state after
// result from (-1: from the start), and asserts the way there: any OK
// results of checks that ran before the change, then state SOFT on
// attempts 1 and 2, then state HARD. It returns the index of the HARD
// result.
func requireHardProblem(t *testing.T, s *service, from int, state string) int {
	t.Helper()
	hard := s.h.waitFor(t, from+1, hardWait, "HARD "+state, func(r result) bool { return r.State == state && r.Type == "HARD" })
	rs := s.h.Results()
	var path []result
	for _, r := range rs[from+1 : hard+1] {
		if len(path) == 0 && r.State == "OK" {
			continue
		}
		path = append(path, r)
	}
	var got []string
	for _, r := range path {
		got = append(got, r.String())
	}
	want := []string{state + " SOFT 1", state + " SOFT 2", fmt.Sprintf("%s HARD %d", state, hardAttempt[s.core])}
	require.Equal(t, want, got, "the way to HARD %s:\n%s", state, describe(rs))
	return hard
}

// hardAttempt is the attempt a core shows with the HARD state that the
// third failing check brings (max_check_attempts 3): Nagios counts it as
// attempt 3, Icinga 2 starts counting afresh at 1.
var hardAttempt = map[string]int{coreIcinga2: 1, coreNagios4: 3, coreNRPE: 3}

// requirePages waits until the service's notifications number as many as
// want, and asserts that each starts as want's does.
func requirePages(t *testing.T, s *service, want ...string) {
	t.Helper()
	var pages []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		pages = s.h.Pages(t)
		if len(pages) >= len(want) || time.Now().After(deadline) {
			break
		}
	}
	require.Len(t, pages, len(want), "notifications: %q", pages)
	for i, w := range want {
		require.True(t, strings.HasPrefix(pages[i], w), "notification %d: %q, want it to start with %q", i+1, pages[i], w)
	}
}

func isState(state string) func(result) bool {
	return func(r result) bool { return r.State == state }
}

// watchChecks samples the service's check processes every 100 ms until
// the returned function is called, and fails the test if any lived longer
// than limit.
func watchChecks(t *testing.T, s *service, limit time.Duration) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	failed := make(chan string, 1)
	go func() {
		seen := map[string]time.Time{}
		for {
			select {
			case <-done:
				close(failed)
				return
			case <-time.After(100 * time.Millisecond):
			}
			for _, p := range s.checks() {
				first, ok := seen[p]
				if !ok {
					seen[p] = time.Now()
				} else if time.Since(first) > limit {
					failed <- fmt.Sprintf("a check ran longer than %v: %s", limit, p)
					<-done
					close(failed)
					return
				}
			}
		}
	}()
	return func() {
		t.Helper()
		close(done)
		if msg, ok := <-failed; ok {
			require.Fail(t, msg)
		}
	}
}

// The proc trees, one copy per service.

// hostProc is no tree: the check's default proc root, this host's /proc.
func hostProc(*testing.T) string { return "" }

func quietHost(t *testing.T) string {
	root := testenv.CopyTree(t, filepath.Join(testenv.ModuleRoot(t), "testdata", "quiet-host"), testenv.Everyone)
	testenv.SetCounter(t, filepath.Join(root, "1", "net", "netstat"), "TcpExt", "TCPAbortOnMemory", "100")
	return root
}

// openVZContainer is an OpenVZ container below its numothersock barrier
// (100 of 360) that has been refused sockets before (failcnt 1294), its
// user_beancounters readable by root only, as OpenVZ has it.
func openVZContainer(t *testing.T) string {
	root := testenv.CopyTree(t, filepath.Join(testenv.ModuleRoot(t), "testdata", "openvz-container"), testenv.Everyone)
	path := filepath.Join(root, "user_beancounters")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	re := regexp.MustCompile(`(numothersock\s+)342(\s+)`)
	require.True(t, re.Match(data))
	testenv.ReplaceFile(t, path, re.ReplaceAll(data, []byte("${1}100${2}")))
	require.NoError(t, os.Chmod(path, 0o400))
	return root
}

// setFailcnt sets the failcnt of numothersock in the tree's beancounters.
func setFailcnt(t *testing.T, root, failcnt string) {
	t.Helper()
	path := filepath.Join(root, "user_beancounters")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	re := regexp.MustCompile(`(?m)^(\s+numothersock(?:\s+\d+){4}\s+)\d+$`)
	require.True(t, re.Match(data))
	testenv.ReplaceFile(t, path, re.ReplaceAll(data, []byte("${1}"+failcnt)))
}

// setOrphans sets the tree's TCP orphan count, 0 in quiet-host.
func setOrphans(t *testing.T, root string, n int) {
	t.Helper()
	path := filepath.Join(root, "1", "net", "sockstat")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(data), " orphan 0 ")
	testenv.ReplaceFile(t, path, []byte(strings.Replace(string(data), " orphan 0 ", fmt.Sprintf(" orphan %d ", n), 1)))
}

// topTree is quiet-host with the hostile UNIX socket table.
func topTree(t *testing.T) string {
	root := quietHost(t)
	data, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "testdata", "unix-hostile", "unix"))
	require.NoError(t, err)
	testenv.ReplaceFile(t, filepath.Join(root, "1", "net", "unix"), data)
	return root
}

// runCheck runs the check bin by hand, as cred (nil: as the test), and
// returns what it printed and its exit code.
func runCheck(t *testing.T, bin string, cred *syscall.Credential, args ...string) (string, int) {
	t.Helper()
	if cred != nil {
		bin = testenv.PublicCopy(t, bin)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, stderr, code := testenv.Run(t, cmd)
	require.Empty(t, stderr)
	return out, code
}

// nagiosUser is the user NRPE runs its commands as, and its credential.
func nagiosUser(t *testing.T) (*user.User, *syscall.Credential) {
	t.Helper()
	u, err := user.Lookup("nagios")
	require.NoError(t, err, "the nagios user (Debian's nagios-nrpe-server creates it)")
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return u, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}
