package sockwatch

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
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
// against ss and lsof.
func BenchmarkScanOwners(b *testing.B) {
	root := ProcRoot("")
	var o *Owners
	for b.Loop() {
		var err error
		o, err = ScanOwners(root, OwnerOptions{Top: 5})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(o.Sockets), "sockets")
	b.ReportMetric(float64(o.Processes), "processes")
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
