package sockwatch

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// BenchmarkProcfs reads each source of this host's /proc the way sockwatch
// does (sockwatch/...) and the way github.com/prometheus/procfs does
// (procfs/...), side by side in one run, for the procfs table of README.md:
//
//	go test -run '^$' -bench '^BenchmarkProcfs$' -benchmem -count 6 . | tee out.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /reader out.txt
func BenchmarkProcfs(b *testing.B) {
	fs, err := procfs.NewFS("/proc")
	if err != nil {
		b.Fatal(err)
	}
	self, err := fs.Self()
	if err != nil {
		b.Fatal(err)
	}
	procs, err := fs.AllProcs()
	if err != nil {
		b.Fatal(err)
	}
	pids := make([]string, len(procs))
	for i, p := range procs {
		pids[i] = strconv.Itoa(p.PID)
	}
	// The gather's reader keeps the files it reads open (procfile.Reader.Hold).
	kept := func() *procfile.Reader {
		var r procfile.Reader
		r.Hold("/proc")
		return &r
	}
	run := func(name string, ours, theirs func(b *testing.B)) {
		b.Run("source="+name+"/reader=sockwatch", ours)
		b.Run("source="+name+"/reader=procfs", theirs)
	}

	// sockwatch reads protocols with sockstat and sockstat6.
	run("sockstat", func(b *testing.B) {
		fr, r := kept(), must(NewReader("/proc"))
		b.ReportAllocs()
		for b.Loop() {
			r.readSockstat(fr, "/proc/self/net")
		}
	}, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fs.NetSockstat()
			fs.NetSockstat6()
		}
	})
	run("protocols", func(b *testing.B) {
		fr := kept()
		var st Sockstat
		b.ReportAllocs()
		for b.Loop() {
			procfile.ReadInto(fr, "/proc/self/net/protocols", &st, parseProtocols)
		}
	}, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fs.NetProtocols()
		}
	})
	run("netstat+snmp+snmp6", func(b *testing.B) {
		fr := kept()
		b.ReportAllocs()
		for b.Loop() {
			readCounters(fr, "/proc/self/net")
		}
	}, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			self.Netstat()
			self.Snmp()
			self.Snmp6()
		}
	})
	run("sysctls", func(b *testing.B) {
		fr := kept()
		b.ReportAllocs()
		for b.Loop() {
			readLimits(fr, "/proc", false)
		}
	}, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, s := range []string{"net.ipv4.tcp_mem", "net.ipv4.udp_mem", "net.ipv4.tcp_max_orphans",
				"net.ipv4.tcp_max_tw_buckets", "fs.file-nr", "fs.file-max"} {
				fs.SysctlInts(s)
			}
		}
	})
	run("pids", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			procfile.ListPids("/proc")
		}
	}, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fs.AllProcs()
		}
	})
	// Per process: the name, and the user the owner scan files it under.
	run("comm", func(b *testing.B) {
		w := newOwnerScan("/proc", nil, nil)
		b.ReportAllocs()
		for b.Loop() {
			for _, pid := range pids {
				w.path = append(append(append(w.path[:0], "/proc/"...), pid...), "/comm\x00"...)
				w.readComm()
			}
		}
	}, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, p := range procs {
				p.Comm()
			}
		}
	})
	run("uid", func(b *testing.B) {
		// The scan has /proc/PID/fd open already, to read the descriptors:
		// the owner is an fstat of it.
		fds := make([]int, 0, len(pids))
		for _, pid := range pids {
			if fd, err := unix.Open(filepath.Join("/proc", pid, "fd"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
				fds = append(fds, fd)
			}
		}
		b.Cleanup(func() {
			for _, fd := range fds {
				unix.Close(fd)
			}
		})
		b.ReportAllocs()
		for b.Loop() {
			var st unix.Stat_t
			for _, fd := range fds {
				unix.Fstat(fd, &st)
			}
		}
	}, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, p := range procs {
				p.NewStatus()
			}
		}
	})
	run("net/unix", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			countUnixRows("/proc/self/net")
		}
	}, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fs.NetUNIX()
		}
	})
}
