//go:build linux

package sockwatch

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/influxdata/telegraf/plugins/serializers/influx"
	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// The creators tests load eBPF programs into the running kernel: root (CI
// runs as root). Other processes of the host create sockets too: the tests
// look at the names their own generators take.

func creatorsPlugin(t *testing.T) *Sockwatch {
	t.Helper()
	s := &Sockwatch{ProcRoot: "/proc", Creators: true, CreatorsTop: 1000, Log: testutil.Logger{}}
	require.NoError(t, s.Init())
	require.NotNil(t, s.creators, "tracing did not start")
	t.Cleanup(s.Stop)
	return s
}

// creator returns the fields of the sockwatch_creator series of name.
func creator(acc *testutil.Accumulator, name string) map[string]any {
	fields := map[string]any{}
	for _, m := range acc.GetTelegrafMetrics() {
		if m.Name() == "sockwatch_creator" && m.Tags()["process_name"] == name {
			for k, v := range m.Fields() {
				fields[k] = v
			}
		}
	}
	return fields
}

func requireWithin10(t *testing.T, want float64, got any, what string) {
	t.Helper()
	require.IsType(t, float64(0), got, what)
	require.InDelta(t, want, got.(float64), want*0.10, "%s: %v, want %v within 10%%", what, got, want)
}

// Known rates are reported within 10 %, and a process that exits between
// two gathers has its last rates reported once.
func TestCreatorsLiveRates(t *testing.T) {
	s := creatorsPlugin(t)
	testenv.Churn(t, "-name", "plugin-udp", "-udp", "300")
	testenv.Churn(t, "-name", "plugin-unix", "-unix", "50")
	testenv.Churn(t, "-name", "plugin-dns", "-dns", "100")
	gather(t, s)
	testenv.Churn(t, "-name", "plugin-short", "-tcp", "200", "-duration", "1s")
	time.Sleep(2 * time.Second)
	acc := gather(t, s)
	require.Empty(t, acc.Errors)

	udp := creator(acc, "plugin-udp")
	requireWithin10(t, 300, udp["udp_per_second"], "plugin-udp udp_per_second")
	requireWithin10(t, 300, udp["created_per_second"], "plugin-udp created_per_second")
	require.Equal(t, 0.0, udp["dns_lookups_per_second"])
	require.Equal(t, "root", acc.TagValue("sockwatch_creator", "user"))
	unix := creator(acc, "plugin-unix")
	requireWithin10(t, 50, unix["unix_per_second"], "plugin-unix unix_per_second")
	dns := creator(acc, "plugin-dns")
	requireWithin10(t, 100, dns["dns_lookups_per_second"], "plugin-dns dns_lookups_per_second")
	requireWithin10(t, 100, dns["udp_per_second"], "plugin-dns udp_per_second")
	// 200 a second for 1 s, over an interval of about 2 s.
	short := creator(acc, "plugin-short")
	require.NotEmpty(t, short, "the process that exited is not reported")
	require.InDelta(t, 200, short["created"], 0, "200/s for 1 s")

	host, ok := acc.Get("sockwatch")
	require.True(t, ok)
	total := host.Fields["sockets_created_per_second"].(float64)
	require.GreaterOrEqual(t, total, 450*0.9, "host sockets_created_per_second")

	// Counters keep counting; the exited process is not reported again.
	created := udp["created"].(int64)
	time.Sleep(500 * time.Millisecond)
	acc = gather(t, s)
	require.Greater(t, creator(acc, "plugin-udp")["created"].(int64), created)
	require.Empty(t, creator(acc, "plugin-short"), "reported again after it exited")
}

// A process name with a newline, quotes, = and | reaches line protocol as
// one tag value, and parses back.
func TestCreatorsHostileName(t *testing.T) {
	s := creatorsPlugin(t)
	const name = "a\nb\"c=d|e f"
	testenv.Churn(t, "-name", name, "-udp", "100")
	time.Sleep(300 * time.Millisecond)
	acc := gather(t, s)
	want := tagValue(name)
	require.Equal(t, `a\x0ab"c=d|e f`, want)
	var found bool
	ser := &influx.Serializer{SortFields: true}
	require.NoError(t, ser.Init())
	for _, m := range acc.GetTelegrafMetrics() {
		if m.Name() != "sockwatch_creator" || m.Tags()["process_name"] != want {
			continue
		}
		found = true
		out, err := ser.Serialize(m)
		require.NoError(t, err)
		back := parseLines(t, string(out))
		require.Len(t, back, 1, "%s", out)
		require.Equal(t, want, back[0].Tags()["process_name"])
	}
	require.True(t, found)
}

// Stopping the plugin detaches its programs.
func TestCreatorsStopDetaches(t *testing.T) {
	s := creatorsPlugin(t)
	ids := programsOf(t, os.Getpid())
	require.Len(t, ids, programs, "programs of this process")
	s.Stop()
	requireUnloaded(t, ids)
}

// Without the privileges to trace, the plugin says so once and reports
// every other series.
func TestCreatorsUnprivileged(t *testing.T) {
	if os.Getenv("SOCKWATCH_CREATORS_UNPRIVILEGED") == "" {
		bin := testenv.PublicCopy(t, binary(t))
		conf := writeFile(t, "creators.conf", "[[inputs.sockwatch]]\n  creators = true\n")
		require.NoError(t, os.Chmod(conf, 0o644))
		cmd := exec.Command(bin, "-config", conf, "-once")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		stdout, stderr, code := testenv.Run(t, cmd)
		require.Equal(t, 0, code, "stderr:\n%s", stderr)
		require.Contains(t, stderr, "creators: eBPF tracing unavailable: privileges: run as root or with CAP_BPF and CAP_PERFMON")
		require.Equal(t, 1, strings.Count(stderr, "eBPF"), "one line:\n%s", stderr)
		require.Contains(t, stdout, "sockwatch ")
		require.Contains(t, stdout, "sockets_used=")
		require.NotContains(t, stdout, "sockets_created_per_second")
		require.NotContains(t, stdout, "sockwatch_creator")
	}
}

// Telegraf's execd stopping telegraf-sockwatch, at whatever point of its
// gathers (every 100 ms), leaves nothing attached: bpftool lists none of
// its programs afterwards. Once by stopping Telegraf (execd closes the
// plugin's stdin), once by killing the plugin outright.
func TestTelegrafExecdStopDetaches(t *testing.T) {
	for _, how := range []string{"stop telegraf", "kill the plugin"} {
		t.Run(how, func(t *testing.T) {
			plugin := writeFile(t, "sockwatch.conf", "[[inputs.sockwatch]]\n  creators = true\n  owners = true\n")
			conf := writeFile(t, "telegraf.conf", fmt.Sprintf(`[agent]
  interval = "100ms"
  flush_interval = "100ms"
  omit_hostname = true

[[inputs.execd]]
  command = [%q, "-config", %q, "-poll_interval_disabled"]
  signal = "STDIN"
  data_format = "influx"

[[outputs.file]]
  files = [%q]
`, binary(t), plugin, os.DevNull))
			tg := exec.Command(testenv.Telegraf(t), "--config", conf)
			require.NoError(t, tg.Start())
			t.Cleanup(func() { tg.Process.Kill(); tg.Wait() })
			var pid int
			var ids []uint32
			require.Eventually(t, func() bool {
				pid = childNamed(t, tg.Process.Pid, "telegraf-sockwatch")
				if pid == 0 {
					return false
				}
				ids = programsOf(t, pid)
				return len(ids) >= programs
			}, time.Minute, 50*time.Millisecond, "telegraf-sockwatch never attached its programs")
			time.Sleep(time.Second) // some gathers
			// With owners on, the task_file iterator is loaded at the
			// first gather, and kept: it must go too.
			ids = programsOf(t, pid)
			require.Len(t, ids, programs+1, "the creators' programs and the owners' iterator")
			if how == "kill the plugin" {
				require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
			} else {
				require.NoError(t, tg.Process.Signal(syscall.SIGTERM))
				done := make(chan error, 1)
				go func() { done <- tg.Wait() }()
				select {
				case <-done:
				case <-time.After(30 * time.Second):
					t.Fatal("telegraf did not stop")
				}
			}
			requireUnloaded(t, ids)
		})
	}
}

// programs is how many eBPF programs the creators load: four attached to
// tracepoints, and the one each read runs over the process map.
const programs = 5

// childNamed returns the PID of the child of parent named comm, 0 if none:
// each thread lists the children it started.
func childNamed(t *testing.T, parent int, comm string) int {
	t.Helper()
	lists, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", parent))
	var children []string
	for _, l := range lists {
		b, _ := os.ReadFile(l)
		children = append(children, strings.Fields(string(b))...)
	}
	for _, f := range children {
		c, _ := os.ReadFile("/proc/" + f + "/comm")
		if strings.HasPrefix(comm, strings.TrimSpace(string(c))) {
			pid, _ := strconv.Atoi(f)
			return pid
		}
	}
	return 0
}

// bpftoolProgs returns the IDs of the programs `bpftool prog show` lists.
func bpftoolProgs(t *testing.T) []uint32 {
	t.Helper()
	out, err := exec.Command("bpftool", "-j", "prog", "show").Output()
	require.NoError(t, err)
	var progs []struct {
		ID uint32 `json:"id"`
	}
	require.NoError(t, json.Unmarshal(out, &progs), "%s", out)
	var ids []uint32
	for _, p := range progs {
		ids = append(ids, p.ID)
	}
	return ids
}

// programsOf returns the IDs of the eBPF programs process pid holds a
// descriptor of (anon_inode:bpf-prog; prog_id in its fdinfo), each once.
func programsOf(t *testing.T, pid int) []uint32 {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var ids []uint32
	for _, fd := range fds {
		if l, _ := os.Readlink(dir + "/" + fd.Name()); l != "anon_inode:bpf-prog" {
			continue
		}
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd.Name()))
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(info)) {
			if v, ok := strings.CutPrefix(line, "prog_id:"); ok {
				id, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
				require.NoError(t, err)
				if !slices.Contains(ids, uint32(id)) {
					ids = append(ids, uint32(id))
				}
			}
		}
	}
	return ids
}

// requireUnloaded waits for bpftool to stop listing the programs ids: the
// kernel frees a program after an RCU grace period, not at once.
func requireUnloaded(t *testing.T, ids []uint32) {
	t.Helper()
	loaded := func() []uint32 {
		var still []uint32
		for _, id := range bpftoolProgs(t) {
			if slices.Contains(ids, id) {
				still = append(still, id)
			}
		}
		return still
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(loaded()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	require.Empty(t, loaded(), "programs still loaded")
}
