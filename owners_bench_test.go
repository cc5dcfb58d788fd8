package sockwatch

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/bpf"
)

// bigUnixTable is a unix table of n sockets: pairs of unbound sockets, and
// every tenth a connection accepted on one of 100 listeners.
func bigUnixTable(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Num       RefCount Protocol Flags    Type St Inode Path\n")
	for i := range n {
		fmt.Fprintf(&b, "0000000000000000: 00000003 00000000 00000000 0001 03 %5d", 10000+i)
		if i%10 == 0 {
			fmt.Fprintf(&b, " /run/app %d/listener.sock", i%100)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// TestUnixPathsAllocations: the parser allocates nothing per row, so its
// memory does not grow with the number of sockets.
func TestUnixPathsAllocations(t *testing.T) {
	data := bigUnixTable(20000)
	var r bytes.Reader
	allocs := testing.AllocsPerRun(5, func() {
		r.Reset(data)
		rows, err := countUnixPaths("unix", &r, func([]byte) {})
		if err != nil || rows != 20000 {
			panic(fmt.Sprint(rows, err))
		}
	})
	require.LessOrEqual(t, allocs, 4.0)
}

func BenchmarkUnixPaths(b *testing.B) {
	data := bigUnixTable(110000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var r bytes.Reader
	for b.Loop() {
		r.Reset(data)
		if _, _, err := tallyUnixPaths("unix", &r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanOwners scans this host's processes; bench/owners.sh times the
// same scan, with bench/ownerscan, on a known load of 110,000 sockets,
// against ss and lsof. Both ways, side by side: the BPF iterator (as root)
// and /proc/PID/fd.
func BenchmarkScanOwners(b *testing.B) {
	root := ProcRoot("")
	for _, noIterator := range []bool{false, true} {
		name := "iterator"
		if noIterator {
			name = "proc"
		}
		b.Run(name, func(b *testing.B) {
			var o *Owners
			for b.Loop() {
				var err error
				o, err = ScanOwners(root, OwnerOptions{Top: 5, NoIterator: noIterator})
				if err != nil {
					b.Fatal(err)
				}
			}
			if !noIterator && o.Via != ViaTaskFiles {
				b.Skipf("the iterator is not used here: %v", o.IteratorErr)
			}
			b.ReportMetric(float64(o.Sockets), "sockets")
			b.ReportMetric(float64(o.Processes), "processes")
		})
	}
}

// BenchmarkTaskFiles times one pass of the task_file iterator alone.
func BenchmarkTaskFiles(b *testing.B) {
	it, err := iteratorFor(ProcRoot(""))
	if err != nil {
		b.Skipf("no iterator: %v", err)
	}
	n := 0
	for b.Loop() {
		n = 0
		if err := it(func(*bpf.TaskSocket) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "sockets")
}

// BenchmarkDumpSockets times the sock_diag dump of this namespace's sockets
// that the owner scan classifies them with.
func BenchmarkDumpSockets(b *testing.B) {
	var d *diagSockets
	for b.Loop() {
		if d = dumpSockets(); d == nil {
			b.Fatal("no NETLINK_SOCK_DIAG socket")
		}
	}
	b.ReportMetric(float64(len(d.class)), "sockets")
}
