package sockwatch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/sockwatch/sockwatch/internal/netnstest"
	"github.com/sockwatch/sockwatch/internal/testenv"
)

// BenchmarkRead is one full read of this host: sockstat, sockstat6,
// protocols, every limit, netstat, snmp, snmp6.
func BenchmarkRead(b *testing.B) {
	r := must(NewReader("/proc"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Read(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadScenario reads a composed proc tree, the cost of parsing
// without the kernel's cost of generating the files.
func BenchmarkReadScenario(b *testing.B) {
	r := must(NewReader(filepath.Join("testdata", "out-of-socket-memory")))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Read(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse is the parsing alone, of every file a Read takes, from
// memory: what sockwatch itself costs, apart from the kernel's generating the
// files and the system calls.
func BenchmarkParse(b *testing.B) {
	dir := filepath.Join("testdata", "quiet-host")
	file := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	sockstat, sockstat6, protocols := file("1/net/sockstat"), file("1/net/sockstat6"), file("1/net/protocols")
	netstat, snmp, snmp6 := file("1/net/netstat"), file("1/net/snmp"), file("1/net/snmp6")
	var v [3]Num
	type sysctl struct {
		data []byte
		dst  []*Num
	}
	var sysctls []sysctl
	for _, name := range []string{sysTCPMem, sysUDPMem, sysTCPMaxOrphans, sysTCPMaxTW, sysFileNr, sysFileMax} {
		data := file(filepath.Join("sys", name))
		sysctls = append(sysctls, sysctl{data, []*Num{&v[0], &v[1], &v[2]}[:len(bytes.Fields(data))]})
	}
	b.ReportAllocs()
	for b.Loop() {
		var s Sockstat
		var c Counters
		err := errors.Join(parseSockstat("s", sockstat, &s), parseSockstat("s6", sockstat6, &s),
			parseProtocols("p", protocols, &s), parseNetstat("n", netstat, &c), parseNetstat("n", snmp, &c),
			parseSnmp6("n6", snmp6, &c))
		for _, sc := range sysctls {
			err = errors.Join(err, parseInts("sysctl", sc.data, sc.dst))
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadConnections shows that a read costs the same whatever the
// number of TCP connections: every source is a counter, none a table. It
// opens the connections on this host's loopback, where Read looks.
func BenchmarkReadConnections(b *testing.B) {
	for _, conns := range []int{0, 20000} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			openConnections(b, conns)
			r := must(NewReader("/proc"))
			s, err := r.Read()
			if err != nil {
				b.Fatal(err)
			}
			if s.Sockstat.TCPInUse.Value < int64(2*conns) {
				b.Fatalf("TCP inuse %d, want at least %d", s.Sockstat.TCPInUse.Value, 2*conns)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := r.Read(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// connsPerHelper keeps each helper process under the 20,000 open files a
// process may have here (raising the hard limit needs CAP_SYS_RESOURCE).
const connsPerHelper = 5000

// openConnections establishes n loopback TCP connections (2n sockets),
// held by helper processes until the benchmark ends.
func openConnections(b *testing.B, n int) {
	b.Helper()
	for left := n; left > 0; left -= connsPerHelper {
		testenv.StartHelper(b, connHelperEnv+"="+strconv.Itoa(min(left, connsPerHelper)))
	}
}

// holdConnections opens count loopback TCP connections, says "ready" and
// keeps them until its stdin closes.
func holdConnections(count string) {
	n, err := strconv.Atoi(count)
	var l net.Listener
	if err == nil {
		var lc net.ListenConfig
		lc.SetMultipathTCP(false)
		l, err = lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
	}
	conns := make([]net.Conn, 0, 2*n)
	for i := 0; err == nil && i < n; i++ {
		var c, a net.Conn
		if c, err = net.Dial("tcp4", l.Addr().String()); err == nil {
			a, err = l.Accept()
			conns = append(conns, c, a)
		}
	}
	netnstest.Fail(err)
	os.Stdout.WriteString("ready\n")
	io.Copy(io.Discard, os.Stdin)
	// The connections close when collected: keep them until stdin closes.
	runtime.KeepAlive(conns)
	runtime.KeepAlive(l)
}
