//go:build e2e

package e2e

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// The sockets the test process holds while Telegraf runs, so that the owner
// panels have a known owner to show whatever else runs on the host.
const (
	heldUnixPairs   = 10 // socketpairs: 20 UNIX sockets without a path
	heldUnixClients = 5  // connections to the listener: 5 clients, 5 accepted
	// The listener's file name: a space, a comma and an equals sign, which
	// line protocol must escape in a tag value.
	heldUnixName = "php fpm,pool=www.sock"
)

// heldSockets is what holdSockets opened.
type heldSockets struct {
	unixPath string // the listener's path
	unix     int    // UNIX sockets held
}

// holdSockets opens UNIX sockets (pairs, a listener at a path with
// connections), a UDP socket connected to port 53 as a resolver's is, a raw
// ICMP socket and a netlink socket, all closed when the test ends.
func holdSockets(t *testing.T) heldSockets {
	t.Helper()
	var fds []int
	t.Cleanup(func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	})
	for range heldUnixPairs {
		pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
		require.NoError(t, err)
		fds = append(fds, pair[0], pair[1])
	}
	raw, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_ICMP)
	require.NoError(t, err, "a raw socket needs root or CAP_NET_RAW")
	fds = append(fds, raw)
	nl, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW, syscall.NETLINK_ROUTE)
	require.NoError(t, err)
	fds = append(fds, nl)

	dns, err := net.Dial("udp", "127.0.0.1:53") // connect(2) only: nothing is sent
	require.NoError(t, err)
	t.Cleanup(func() { dns.Close() })

	dir, err := os.MkdirTemp("", "sockwatch-e2e")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, heldUnixName)
	l, err := net.Listen("unix", path)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	for range heldUnixClients {
		c, err := net.Dial("unix", path)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		a, err := l.Accept()
		require.NoError(t, err)
		t.Cleanup(func() { a.Close() })
	}
	return heldSockets{unixPath: path, unix: 2*heldUnixPairs + 1 + 2*heldUnixClients}
}
