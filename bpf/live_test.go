//go:build linux && amd64

package bpf

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockwatch/sockwatch/internal/testenv"
	"github.com/stretchr/testify/require"
)

// The live tests load the programs into the running kernel: they need root
// (or CAP_BPF and CAP_PERFMON) and fail, not skip, without it: CI runs as
// root. Other processes of the host create sockets too: the tests look at
// their own processes only, found by PID.

func open(t *testing.T, opts Options) *Tracer {
	t.Helper()
	tr, err := Open(opts)
	require.NoError(t, err)
	t.Cleanup(func() { tr.Close() })
	return tr
}

// churn starts bench/churn with args and returns its PID.
func churn(t *testing.T, args ...string) uint32 { return uint32(testenv.Churn(t, args...)) }

// find returns the entries of s for pid.
func find(s *Sample, pid uint32) []Process {
	var out []Process
	for _, p := range s.Processes {
		if p.PID == pid {
			out = append(out, p)
		}
	}
	return out
}

func requireRate(t *testing.T, what string, want float64, n uint64, d time.Duration) {
	t.Helper()
	got := float64(n) / d.Seconds()
	require.InDelta(t, want, got, want*0.10, "%s: %d in %v = %.1f/s, want %.0f/s within 10%%", what, n, d, got, want)
}

func TestLiveRates(t *testing.T) {
	tr := open(t, Options{})
	udp := churn(t, "-name", "bpf-udp", "-udp", "300")
	unixp := churn(t, "-name", "bpf-unix", "-unix", "50", "-pairs", "10")
	tcp := churn(t, "-name", "bpf-tcp", "-tcp", "40")
	dns := churn(t, "-name", "bpf-dns", "-dns", "100")
	dns6 := churn(t, "-name", "bpf-dns-sendto6", "-dns", "60", "-sendto", "-dns-server", "::1")
	_, err := tr.Read() // the start-up of each generator is not part of its rate
	require.NoError(t, err)
	time.Sleep(2 * time.Second)
	s, err := tr.Read()
	require.NoError(t, err)

	one := func(pid uint32, name string) Process {
		t.Helper()
		ps := find(s, pid)
		require.Len(t, ps, 1, "pid %d", pid)
		require.Equal(t, name, ps[0].Name)
		require.Zero(t, ps[0].UID)
		require.False(t, ps[0].Exited)
		return ps[0]
	}
	p := one(udp, "bpf-udp")
	requireRate(t, "udp", 300, p.Created[UDP], s.Interval)
	require.Equal(t, p.Created[UDP], p.Sockets())
	require.Zero(t, p.DNS)

	p = one(unixp, "bpf-unix")
	requireRate(t, "unix (50 sockets and 10 pairs a second)", 70, p.Created[Unix], s.Interval)
	require.Equal(t, p.Created[Unix], p.Sockets())

	p = one(tcp, "bpf-tcp")
	requireRate(t, "tcp", 40, p.Created[TCP], s.Interval)
	require.Equal(t, p.Created[TCP], p.Sockets())

	p = one(dns, "bpf-dns")
	requireRate(t, "dns lookups (connect)", 100, p.DNS, s.Interval)
	requireRate(t, "dns sockets", 100, p.Created[UDP], s.Interval)

	p = one(dns6, "bpf-dns-sendto6")
	requireRate(t, "dns lookups (sendto, IPv6)", 60, p.DNS, s.Interval)
	require.Equal(t, p.Created[UDP], p.Sockets())
}

// A process that exits between two reads is reported once, with its last
// counts, and its entry freed.
func TestLiveExitedReportedOnce(t *testing.T) {
	tr := open(t, Options{})
	pid := churn(t, "-name", "bpf-short", "-udp", "200", "-duration", "500ms")
	waitGone(t, pid)
	s, err := tr.Read()
	require.NoError(t, err)
	ps := find(s, pid)
	require.Len(t, ps, 1)
	require.True(t, ps[0].Exited)
	require.Equal(t, uint64(100), ps[0].Created[UDP], "200/s for 0.5 s")

	s, err = tr.Read()
	require.NoError(t, err)
	require.Empty(t, find(s, pid), "reported again after it exited")
	var key creatorsProcessKey
	var val creatorsProcess
	key.Tgid, key.Start = pid, ps[0].Start
	require.Error(t, tr.objs.Processes.Lookup(&key, &val), "exited process still in the map")
}

// waitGone waits for every thread of pid to have exited: testenv.Start's
// cleanup reaps it only at the end, so a zombie is fine, but only once its
// other threads are gone too (a leader shows Z while they still exit).
func waitGone(t *testing.T, pid uint32) {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(int(pid))
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(dir + "/stat")
		if err != nil {
			return true
		}
		tasks, err := os.ReadDir(dir + "/task")
		return err != nil || strings.Contains(string(b), ") Z ") && len(tasks) <= 1
	}, 10*time.Second, 10*time.Millisecond)
}

// A PID reused between two reads is a new process: its counts are not
// added to the old one's, nor the old one's lost.
func TestLivePIDReused(t *testing.T) {
	tr := open(t, Options{})
	first := churn(t, "-name", "first", "-udp", "100", "-duration", "300ms")
	waitGone(t, first)
	reap(t, first)
	var second uint32
	for range 50 {
		// The next PID the kernel hands out is ns_last_pid+1; other
		// processes of the host may take it first: try again.
		require.NoError(t, os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(int(first)-1)), 0))
		second = churn(t, "-name", "second", "-tcp", "100", "-duration", "300ms")
		if second == first {
			break
		}
	}
	require.Equal(t, first, second, "could not get PID %d again", first)
	waitGone(t, second)

	s, err := tr.Read()
	require.NoError(t, err)
	ps := find(s, first)
	require.Len(t, ps, 2, "%+v", ps)
	if ps[0].Name != "first" {
		ps[0], ps[1] = ps[1], ps[0]
	}
	require.Equal(t, "first", ps[0].Name)
	require.Equal(t, "second", ps[1].Name)
	require.NotEqual(t, ps[0].Start, ps[1].Start)
	require.Equal(t, uint64(30), ps[0].Created[UDP], "100/s for 0.3 s")
	require.Zero(t, ps[0].Created[TCP])
	require.Equal(t, uint64(30), ps[1].Created[TCP], "100/s for 0.3 s")
	require.Zero(t, ps[1].Created[UDP])
}

// reap waits for the churn process pid, which testenv.Start would reap only
// at the end of the test, so that its PID is free again.
func reap(t *testing.T, pid uint32) {
	t.Helper()
	p, err := os.FindProcess(int(pid))
	require.NoError(t, err)
	p.Wait() // the exec.Cmd's own Wait, at cleanup, then finds it reaped
}

// A full map evicts the least recently counted processes, and Read says
// how many.
func TestLiveMapFull(t *testing.T) {
	const capacity, procs = 16, 60
	tr := open(t, Options{MaxProcesses: capacity})
	pids := map[uint32]bool{}
	for range procs {
		pid := churn(t, "-sockets", "3", "-duration", "1ms")
		pids[pid] = true
		waitGone(t, pid)
	}
	s, err := tr.Read()
	require.NoError(t, err)
	seen := 0
	for _, p := range s.Processes {
		if pids[p.PID] {
			seen++
		}
	}
	require.Less(t, seen, procs)
	require.GreaterOrEqual(t, s.DroppedProcesses, uint64(procs-seen),
		"%d of %d processes missing, %d reported dropped", procs-seen, procs, s.DroppedProcesses)
	t.Logf("%d processes in a map of %d: %d reported, %d dropped", procs, capacity, seen, s.DroppedProcesses)
}

// A process name is whatever bytes it set: newlines, quotes, =, |.
func TestLiveHostileName(t *testing.T) {
	tr := open(t, Options{})
	const name = "a\nb\"c=d|e 'f\\"
	pid := churn(t, "-name", name, "-udp", "100")
	time.Sleep(200 * time.Millisecond)
	s, err := tr.Read()
	require.NoError(t, err)
	ps := find(s, pid)
	require.Len(t, ps, 1)
	require.Equal(t, name, ps[0].Name)
	require.Positive(t, ps[0].Created[UDP])
}

func TestCloseDetaches(t *testing.T) {
	tr, err := Open(Options{})
	require.NoError(t, err)
	ids := attachedIDs(t, tr)
	require.NotEmpty(t, ids)
	require.NoError(t, tr.Close())
	require.NoError(t, tr.Close(), "a second Close")
	_, err = tr.Read()
	require.Error(t, err)
	// The kernel frees a program after an RCU grace period, not at once.
	requireUnloaded(t, ids)
}

// requireUnloaded waits for bpftool to stop listing the programs ids.
func requireUnloaded(t *testing.T, ids []uint32) {
	t.Helper()
	var out []byte
	loaded := func() []uint32 {
		var err error
		out, err = exec.Command("bpftool", "prog", "show").CombinedOutput()
		require.NoError(t, err, "%s", out)
		var still []uint32
		for _, id := range ids {
			if strings.Contains("\n"+string(out), "\n"+strconv.Itoa(int(id))+": ") {
				still = append(still, id)
			}
		}
		return still
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(loaded()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	require.Empty(t, loaded(), "programs still loaded; bpftool prog show:\n%s", out)
}

func attachedIDs(t *testing.T, tr *Tracer) []uint32 {
	t.Helper()
	var ids []uint32
	for _, l := range tr.links {
		info, err := l.Info()
		require.NoError(t, err)
		ids = append(ids, uint32(info.Program))
	}
	return ids
}

// A map with room drops nothing, and says so: every entry added is either
// still there or was freed after its process exited.
func TestLiveNoFalseDrops(t *testing.T) {
	tr := open(t, Options{})
	for range 3 {
		for range 5 {
			waitGone(t, churn(t, "-sockets", "2", "-duration", "1ms"))
		}
		s, err := tr.Read()
		require.NoError(t, err)
		require.Zero(t, s.DroppedProcesses)
		require.Zero(t, s.DroppedMemory)
	}
}

// More processes changed than collect_changed can copy: the whole map is
// read instead, and none is missed.
func TestReadManyChanged(t *testing.T) {
	tr := open(t, Options{})
	many := int(tr.maxChanged) + 904
	keys := make([]creatorsProcessKey, many)
	vals := make([]creatorsProcess, many)
	for i := range keys {
		// PIDs above any the kernel hands out (pid_max is at most 2^22),
		// changed as of the next read's generation.
		keys[i] = creatorsProcessKey{Tgid: 1<<23 + uint32(i), Start: uint64(i)}
		vals[i].Created[TCP] = uint64(i + 1)
		vals[i].Generation = tr.generation + 1
	}
	_, err := tr.objs.Processes.BatchUpdate(keys, vals, nil)
	require.NoError(t, err)
	s, err := tr.Read()
	require.NoError(t, err)
	got := 0
	for _, p := range s.Processes {
		if p.PID >= 1<<23 {
			got++
			require.Equal(t, uint64(p.PID-1<<23+1), p.Created[TCP])
		}
	}
	require.Equal(t, many, got)
	require.GreaterOrEqual(t, s.present, many)
}
