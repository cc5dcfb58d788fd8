package sockwatch

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The fixtures in testdata/owners-diag were captured on amd64 (little
// endian, as netlink headers and diag structures are in host order) in a
// private network namespace holding a UNIX socketpair (inodes 4151090,
// 4151091), a UDP socket connected to 127.0.0.53:53 (4151092), one bound to
// 127.0.0.1:5353 (4151093) and a bound NETLINK_ROUTE socket (4151094):
// NAME.req is the request sent with sequence number N (unix 1, udp 2,
// netlink 3, error 4), NAME.reply the datagrams of the reply, end to end.
var diagFixtures = []struct {
	name string
	seq  uint32
	req  diagRequest
}{
	{"unix", 1, diagRequest{unix.AF_UNIX, 0, sockUnix}},
	{"udp", 2, diagRequest{unix.AF_INET, unix.IPPROTO_UDP, sockUDP}},
	{"netlink", 3, diagRequest{unix.AF_NETLINK, 0, sockNetlink}},
	{"error", 4, diagRequest{unix.AF_INET, 99, sockOther}}, // no diag handler for protocol 99
}

func readDiagFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata/owners-diag", name))
	require.NoError(t, err)
	return data
}

func TestDiagRequestMsg(t *testing.T) {
	for _, f := range diagFixtures {
		require.Equal(t, readDiagFixture(t, f.name+".req"), diagRequestMsg(f.req, f.seq), f.name)
	}
	// What the fixtures do not show: TCP leaves out the states without a
	// descriptor, raw names its protocol where a dump ignores it.
	tcp := diagRequestMsg(diagRequest{unix.AF_INET6, unix.IPPROTO_TCP, sockTCP}, 7)
	require.Len(t, tcp, 16+56)
	require.Equal(t, []byte{unix.AF_INET6, unix.IPPROTO_TCP, 0, 0}, tcp[16:20])
	require.Equal(t, uint32(0xffffefbf), binary.NativeEndian.Uint32(tcp[20:]))
	raw := diagRequestMsg(diagRequest{unix.AF_INET, unix.IPPROTO_RAW, sockRaw}, 8)
	require.Equal(t, []byte{unix.AF_INET, unix.IPPROTO_RAW, 0, unix.IPPROTO_RAW}, raw[16:20])
	require.Equal(t, uint32(8), binary.NativeEndian.Uint32(raw[8:]))
	require.Equal(t, uint16(unix.NLM_F_REQUEST|unix.NLM_F_DUMP), binary.NativeEndian.Uint16(raw[6:]))
}

// parseDiagFixture parses a reply of datagrams laid end to end, as the
// datagrams' messages would be read one after the other.
func parseDiagFixture(data []byte, seq uint32, r diagRequest) (map[uint32]uint8, bool, error) {
	got := make(map[uint32]uint8)
	done, err := parseDiagReply(data, seq, r, func(inode uint32, class uint8) { got[inode] = class })
	return got, done, err
}

func TestParseDiagReply(t *testing.T) {
	want := map[string]map[uint32]uint8{
		"unix": {4151090: sockUnix, 4151091: sockUnix},
		"udp":  {4151092: sockUDP | sockDNS, 4151093: sockUDP},
		// The namespace's kernel sockets (rtnl, uevent, ...) are listed too.
		"netlink": {4151071: sockNetlink, 4151072: sockNetlink, 4151073: sockNetlink, 4151074: sockNetlink,
			4151075: sockNetlink, 4151077: sockNetlink, 4151078: sockNetlink, 4151079: sockNetlink,
			4151094: sockNetlink, 4151095: sockNetlink},
	}
	for _, f := range diagFixtures {
		got, done, err := parseDiagFixture(readDiagFixture(t, f.name+".reply"), f.seq, f.req)
		if f.name == "error" {
			require.ErrorIs(t, err, syscall.ENOENT)
			require.False(t, done)
			continue
		}
		require.NoError(t, err, f.name)
		require.True(t, done, "%s: NLMSG_DONE", f.name)
		require.Equal(t, want[f.name], got, f.name)
	}
}

func TestParseDiagReplyErrors(t *testing.T) {
	udp := diagRequest{unix.AF_INET, unix.IPPROTO_UDP, sockUDP}
	reply := readDiagFixture(t, "udp.reply")
	first := binary.NativeEndian.Uint32(reply)

	got, done, err := parseDiagFixture(reply, 9, udp)
	require.NoError(t, err)
	require.False(t, done, "the reply to another request is skipped, its NLMSG_DONE too")
	require.Empty(t, got)

	got, done, err = parseDiagFixture(reply[:first], 2, udp)
	require.NoError(t, err)
	require.False(t, done, "more to read")
	require.Equal(t, map[uint32]uint8{4151092: sockUDP | sockDNS}, got)

	for name, b := range map[string][]byte{
		"short header":  reply[:10],
		"past the end":  reply[:first-1],
		"size below 16": append([]byte{8, 0, 0, 0}, reply[4:first]...),
		"short message": shrinkDiagMsg(reply[:first], 16+40),
	} {
		_, _, err := parseDiagFixture(b, 2, udp)
		require.ErrorIs(t, err, errDiagReply, name)
	}
	_, _, err = parseDiagFixture(reply, 2, diagRequest{unix.AF_INET6, unix.IPPROTO_UDP, sockUDP})
	require.ErrorIs(t, err, errDiagReply, "an AF_INET socket in the reply to AF_INET6")

	// NLMSG_DONE may carry an error, as when a dump fails midway.
	doneErr := make([]byte, 20)
	binary.NativeEndian.PutUint32(doneErr, 20)
	binary.NativeEndian.PutUint16(doneErr[4:], unix.NLMSG_DONE)
	binary.NativeEndian.PutUint32(doneErr[8:], 2)
	errno := -int32(syscall.EINTR)
	binary.NativeEndian.PutUint32(doneErr[16:], uint32(errno))
	_, _, err = parseDiagFixture(doneErr, 2, udp)
	require.ErrorIs(t, err, syscall.EINTR)
}

// shrinkDiagMsg returns a copy of the one message msg cut to size bytes.
func shrinkDiagMsg(msg []byte, size int) []byte {
	b := append([]byte(nil), msg[:size]...)
	binary.NativeEndian.PutUint32(b, uint32(size))
	return b
}

// TestDumpSockets dumps this namespace live: the sockets this test opens
// are there, with their class, and the UDP socket connected to port 53 is
// among the DNS sockets.
func TestDumpSockets(t *testing.T) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	dns, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	tcp, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	for _, fd := range []int{pair[0], pair[1], dns, tcp} {
		t.Cleanup(func() { unix.Close(fd) })
	}
	require.NoError(t, unix.Connect(dns, &unix.SockaddrInet4{Port: 53, Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, unix.Bind(tcp, &unix.SockaddrInet6{Addr: [16]byte{15: 1}}))
	require.NoError(t, unix.Listen(tcp, 1))
	inode := func(fd int) uint64 {
		var st unix.Stat_t
		require.NoError(t, unix.Fstat(fd, &st))
		return st.Ino
	}

	d := dumpSockets()
	require.NotNil(t, d, "a NETLINK_SOCK_DIAG socket")
	var st unix.Stat_t
	require.NoError(t, unix.Stat("/proc/self/ns/net", &st))
	require.Equal(t, st.Ino, d.ns)
	for fd, want := range map[int]uint8{pair[0]: sockUnix, pair[1]: sockUnix, dns: sockUDP | sockDNS, tcp: sockTCP} {
		class, ok := d.lookup(inode(fd))
		require.True(t, ok, "fd %d in the dump", fd)
		require.Equal(t, want, class, "fd %d", fd)
	}
	require.Contains(t, d.dns, inode(dns))
	_, ok := d.lookup(1 << 40)
	require.False(t, ok, "no inode beyond 32 bits")
}
