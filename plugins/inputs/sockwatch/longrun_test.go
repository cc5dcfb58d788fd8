//go:build linux

package sockwatch

import (
	"os"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"
)

// countingAccumulator counts what a gather adds and keeps nothing, so that
// what a long run keeps is the plugin's own. It overrides what the plugin
// calls.
type countingAccumulator struct {
	testutil.NopAccumulator
	metrics int
	errs    []error
}

func (a *countingAccumulator) AddGauge(string, map[string]any, map[string]string, ...time.Time) {
	a.metrics++
}
func (a *countingAccumulator) AddCounter(string, map[string]any, map[string]string, ...time.Time) {
	a.metrics++
}
func (a *countingAccumulator) AddError(err error) { a.errs = append(a.errs, err) }

// usage is what a long-running process must not accumulate.
type usage struct {
	fds, goroutines int
	heap            uint64
}

func measure(t *testing.T) usage {
	t.Helper()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return usage{fds: len(fds), goroutines: runtime.NumGoroutine(), heap: ms.HeapAlloc}
}

// TestLongRun gathers 10,000 times in one process, as Telegraf does over
// a day at a 10 s interval, with owners off and on: one gather in 100 reads
// this host's /proc (processes come and go there), the others a fixture
// tree. Open descriptors and goroutines must come back to what they were,
// and the heap must not grow beyond a small bound. The figures are logged
// (go test -v -run TestLongRun).
func TestLongRun(t *testing.T) {
	const gathers, liveEvery = 10000, 100
	for _, owners := range []bool{false, true} {
		name := "owners off"
		if owners {
			name = "owners on"
		}
		t.Run(name, func(t *testing.T) {
			fixture := &Sockwatch{ProcRoot: scenario(t, "quiet-host"), Counters: true, Owners: owners, OwnersTop: 10,
				Log: testutil.Logger{}}
			require.NoError(t, fixture.Init())
			live := &Sockwatch{ProcRoot: "/proc", Counters: true, Owners: owners, OwnersTop: 10, Log: testutil.Logger{}}
			require.NoError(t, live.Init())

			gatherOne := func(i int) {
				s := fixture
				if i%liveEvery == 0 {
					s = live
				}
				var acc countingAccumulator
				require.NoError(t, s.Gather(&acc))
				require.Empty(t, acc.errs, "gather %d", i)
				require.GreaterOrEqual(t, acc.metrics, 1, "gather %d", i)
			}
			// Warm up: buffers sized, lazy initialisations done.
			for i := range 2 * liveEvery {
				gatherOne(i)
			}
			before := measure(t)
			start := time.Now()
			for i := range gathers {
				gatherOne(i)
			}
			took := time.Since(start)
			after := measure(t)
			// The readers keep their proc files open between gathers, and
			// close them when collected: keep them until measured.
			runtime.KeepAlive(fixture)
			runtime.KeepAlive(live)
			t.Logf("%d gathers in %v: fds %d -> %d, goroutines %d -> %d, heap %d KiB -> %d KiB",
				gathers, took.Round(time.Millisecond), before.fds, after.fds, before.goroutines, after.goroutines,
				before.heap>>10, after.heap>>10)
			require.LessOrEqual(t, after.fds, before.fds, "open descriptors grew:\n%s", openFDs(t))
			require.LessOrEqual(t, after.goroutines, before.goroutines, "goroutines grew")
			require.Less(t, after.heap, before.heap+2<<20, "heap grew by more than 2 MiB")
		})
	}
}

// openFDs lists this process's open descriptors, for a failure message.
func openFDs(t *testing.T) string {
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	var b strings.Builder
	for _, e := range entries {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		b.WriteString(e.Name() + " -> " + target + "\n")
	}
	return b.String()
}

// The execd binary under Telegraf's protocol, owners on, on this host:
// after some gathers, Telegraf closing stdin or sending SIGTERM ends it with
// exit code 0 and nothing on stderr but the debug line of each gather.
func TestBinaryStops(t *testing.T) {
	conf := writeFile(t, "sockwatch.conf", "[[inputs.sockwatch]]\n  proc_root = \"/proc\"\n  owners = true\n")
	for _, how := range []string{"stdin closed", "SIGTERM", "SIGINT"} {
		t.Run(how, func(t *testing.T) {
			cmd := command(t, time.Minute, nil, binary(t), "-config", conf, "-poll_interval", "50ms")
			stdin, err := cmd.StdinPipe()
			require.NoError(t, err)
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			// Both Telegraf's prompts and the binary's own interval.
			var out strings.Builder
			buf := make([]byte, 64<<10)
			for i := 0; strings.Count(out.String(), "udp_dns_sockets=") < 5; i++ {
				if i%10 == 0 {
					_, err = stdin.Write([]byte("\n"))
					require.NoError(t, err)
				}
				n, err := stdout.Read(buf)
				require.NoError(t, err, "stderr: %s", stderr.String())
				out.Write(buf[:n])
			}
			switch how {
			case "stdin closed":
				require.NoError(t, stdin.Close())
			case "SIGTERM":
				require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			case "SIGINT":
				require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
			}
			go func() {
				for {
					if _, err := stdout.Read(buf); err != nil {
						return
					}
				}
			}()
			require.NoError(t, waitExit(t, cmd), "stderr: %s", stderr.String())
			require.Equal(t, 0, cmd.ProcessState.ExitCode())
			for line := range strings.Lines(stderr.String()) {
				require.Regexp(t, `^D! (gathered in \S+: \d+ series, 0 errors|owners read through the bpf task_file iterator)\n$`, line)
			}
			require.True(t, regexp.MustCompile(`owner_processes_not_inspected=\d+i`).MatchString(out.String()), "owners were scanned")
		})
	}
}
