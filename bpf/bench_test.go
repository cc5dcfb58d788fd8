//go:build linux && amd64

package bpf

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU is the CPU time of the calling thread, kernel time included.
// On a host whose CPUs are shared with other work, a benchmark's wall time
// counts the time its thread waited for a CPU; its CPU time per operation
// (reported as cpu-ns/op) does not, and compares runs made under different
// loads.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return time.Duration(ts.Nano())
}

// cpuTimer reports cpu-ns/op for the benchmark loop it brackets; the
// benchmark's goroutine stays on one thread meanwhile.
func cpuTimer(b *testing.B) func() {
	runtime.LockOSThread()
	start := threadCPU()
	return func() {
		b.ReportMetric(float64(threadCPU()-start)/float64(b.N), "cpu-ns/op")
		runtime.UnlockOSThread()
	}
}

// BenchmarkSocketClose is the traced path: socket()+close() of a UDP socket,
// with the programs detached and attached, side by side in one run. The
// goal: at least 95 % of the untraced speed (ns/op at most 1/0.95 of it).
func BenchmarkSocketClose(b *testing.B) {
	for _, traced := range []bool{false, true} {
		name := "tracing=off"
		if traced {
			name = "tracing=on"
		}
		b.Run(name, func(b *testing.B) {
			if traced {
				tr, err := Open(Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer tr.Close()
			}
			done := cpuTimer(b)
			for b.Loop() {
				fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
				if err != nil {
					b.Fatal(err)
				}
				unix.Close(fd)
			}
			done()
		})
	}
}

// BenchmarkReadFullMap is one gather's read of the maps holding 10,000
// processes' entries (written by the benchmark, as if that many processes
// had created sockets): the goal is under 1 ms.
func BenchmarkReadFullMap(b *testing.B) {
	const processes = 10000
	tr, err := Open(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	keys := make([]creatorsProcessKey, processes)
	vals := make([]creatorsProcess, processes)
	for i := range keys {
		// PIDs above any the kernel hands out (pid_max is at most 2^22).
		keys[i] = creatorsProcessKey{Tgid: 1<<23 + uint32(i), Start: uint64(i)}
		vals[i].Created[UDP] = uint64(i)
		copy(vals[i].Comm[:], []int8{'w', 'o', 'r', 'k', 'e', 'r'})
	}
	if _, err := tr.objs.Processes.BatchUpdate(keys, vals, nil); err != nil {
		b.Fatal(err)
	}
	if _, err := tr.Read(); err != nil {
		b.Fatal(err)
	}
	done := cpuTimer(b)
	defer done()
	for b.Loop() {
		s, err := tr.Read()
		if err != nil {
			b.Fatal(err)
		}
		if s.present < processes {
			b.Fatalf("%d entries read, want %d (%d dropped)", s.present, processes, s.DroppedProcesses)
		}
	}
}
