package sockwatch

import (
	"encoding/binary"
	"errors"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// The socket classes of the owner scan, as the sock_diag dump and the
// system.sockprotoname attribute both tell them.
const (
	sockOther uint8 = iota // packet, ping, SCTP, vsock, ...
	sockUnix
	sockTCP     // TCP, TCPv6, MPTCP
	sockUDP     // UDP, UDPv6: matched against the DNS sockets
	sockUDPLite // UDP-Lite, UDPLITEv6: counted as UDP, never as DNS
	sockRaw
	sockNetlink

	// sockDNS marks a UDP socket connected to port 53.
	sockDNS uint8 = 0x80
)

// count adds one socket descriptor of class (without sockDNS) to o, by
// family; DNS is for the caller, which knows how it was told.
func (o *Owner) count(class uint8) {
	o.Sockets++
	switch class {
	case sockUnix:
		o.Unix++
	case sockUDP, sockUDPLite:
		o.UDP++
	case sockTCP:
		o.TCP++
	case sockRaw:
		o.Raw++
	case sockNetlink:
		o.Netlink++
	default:
		o.Other++
	}
}

// diagSockets is one NETLINK_SOCK_DIAG dump, as ss makes it, of the sockets
// of the scanner's own network namespace: the class of each by inode, read
// in a few dozen system calls where the attribute takes one per descriptor,
// and the UDP sockets connected to port 53, which the udp tables give only
// at the cost of the kernel walking the table again for every page it
// prints. The dump answers for the namespace of the netlink socket only,
// and lists only the sockets its families hash (an unbound UDP, TCP or
// netlink socket is in none): a descriptor whose inode is not here is
// classified by its attribute, which is right for any socket.
type diagSockets struct {
	ns    uint64           // inode of the namespace dumped
	class map[uint32]uint8 // socket inode (u32 in every diag reply) -> class | sockDNS
	// dns is the UDP sockets connected to port 53, when both the UDP and
	// the UDPv6 dumps went through: then the namespace's udp tables need
	// not be read.
	dns map[uint64]struct{}
}

// diagRequest is one dump: a family, and for AF_INET and AF_INET6 a
// protocol, whose sockets all have class.
type diagRequest struct {
	family, protocol uint8
	class            uint8
}

var diagRequests = []diagRequest{
	{unix.AF_UNIX, 0, sockUnix},
	{unix.AF_INET, unix.IPPROTO_UDP, sockUDP},
	{unix.AF_INET6, unix.IPPROTO_UDP, sockUDP},
	{unix.AF_INET, unix.IPPROTO_TCP, sockTCP},
	{unix.AF_INET6, unix.IPPROTO_TCP, sockTCP},
	{unix.AF_INET, unix.IPPROTO_UDPLITE, sockUDPLite},
	{unix.AF_INET6, unix.IPPROTO_UDPLITE, sockUDPLite},
	{unix.AF_INET, unix.IPPROTO_RAW, sockRaw},
	{unix.AF_INET6, unix.IPPROTO_RAW, sockRaw},
	{unix.AF_NETLINK, 0, sockNetlink},
}

// dumpSockets dumps the sockets of the namespace the calling thread is in.
// It returns nil when there is no netlink socket to ask (a seccomp filter,
// no /proc/thread-self): every socket is then classified by its attribute.
// A family the kernel cannot dump (its diag module not loaded, no IPv6) is
// left out silently, for the same reason.
func dumpSockets() *diagSockets {
	// A netlink socket answers for the namespace of the thread that opened
	// it, which is the one to name.
	runtime.LockOSThread()
	ns, err := procfile.Namespace("/proc/thread-self/ns/net")
	var fd int
	if err == nil {
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	}
	runtime.UnlockOSThread()
	if err != nil {
		return nil
	}
	defer unix.Close(fd)

	d := &diagSockets{ns: ns, class: make(map[uint32]uint8, 1024), dns: make(map[uint64]struct{})}
	buf := make([]byte, diagBufSize)
	udpOK := true
	for seq, r := range diagRequests {
		err := dumpFamily(fd, uint32(seq+1), r, buf, func(inode uint32, class uint8) {
			d.class[inode] = class
			if class&sockDNS != 0 {
				d.dns[uint64(inode)] = struct{}{}
			}
		})
		if err != nil && r.class == sockUDP {
			udpOK = false
		}
	}
	if !udpOK {
		// Then the namespace's DNS sockets are found in its udp tables, and
		// its UDP sockets matched against them, as in other namespaces.
		for inode, class := range d.class {
			if class&^sockDNS == sockUDP {
				delete(d.class, inode)
			}
		}
		d.dns = nil
	}
	return d
}

// diagBufSize holds any reply: the kernel fills dump messages of at most
// 32 KiB, whatever the reader offers.
const diagBufSize = 64 << 10

// dumpFamily sends the dump request r and hands every socket of the reply
// to found, until the kernel says done.
func dumpFamily(fd int, seq uint32, r diagRequest, buf []byte, found func(inode uint32, class uint8)) error {
	if err := procfile.Sendto(fd, diagRequestMsg(r, seq)); err != nil {
		return err
	}
	for {
		n, err := procfile.Recvfrom(fd, buf)
		if err != nil {
			return err
		}
		done, err := parseDiagReply(buf[:n], seq, r, found)
		if err != nil || done {
			return err
		}
	}
}

// diagRequestMsg encodes the netlink message asking for a dump of every
// socket of r, in every state, with nothing but the fixed reply.
func diagRequestMsg(r diagRequest, seq uint32) []byte {
	var req []byte
	switch r.family {
	case unix.AF_UNIX:
		// struct unix_diag_req: family, protocol, pad u16, states u32,
		// ino u32, show u32, cookie [2]u32.
		req = make([]byte, 24)
		req[0] = r.family
		binary.NativeEndian.PutUint32(req[4:], ^uint32(0))
	case unix.AF_NETLINK:
		// struct netlink_diag_req: family, protocol (NDIAG_PROTO_ALL), pad
		// u16, ino u32, show u32, cookie [2]u32.
		req = make([]byte, 20)
		req[0], req[1] = r.family, 255
	default:
		// struct inet_diag_req_v2: family, protocol, ext, pad (for raw
		// sockets sdiag_raw_protocol, which a dump does not filter on),
		// states u32, struct inet_diag_sockid (48 bytes).
		req = make([]byte, 56)
		req[0], req[1] = r.family, r.protocol
		if r.protocol == unix.IPPROTO_RAW {
			req[3] = unix.IPPROTO_RAW
		}
		states := ^uint32(0)
		if r.protocol == unix.IPPROTO_TCP {
			// Time-wait and request sockets have no descriptor, nor inode.
			states &^= 1<<tcpTimeWait | 1<<tcpNewSynRecv
		}
		binary.NativeEndian.PutUint32(req[4:], states)
	}
	msg := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(req))
	binary.NativeEndian.PutUint32(msg[0:], uint32(unix.NLMSG_HDRLEN+len(req)))
	binary.NativeEndian.PutUint16(msg[4:], unix.SOCK_DIAG_BY_FAMILY)
	binary.NativeEndian.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(msg[8:], seq)
	return append(msg, req...)
}

const (
	tcpEstablished = 1
	tcpTimeWait    = 6
	tcpNewSynRecv  = 12
	dnsPort        = 53
)

var errDiagReply = errors.New("malformed sock_diag reply")

// parseDiagReply reads one datagram of the reply to the dump request r
// sent with seq, and calls found with the inode and class of each socket in
// it (with sockDNS for a UDP socket connected to port 53). It reports done
// at NLMSG_DONE, and returns the kernel's error for NLMSG_ERROR. Messages of
// another sequence (a reply to an earlier request) are skipped. Sockets of
// inode 0 have no descriptor (time-wait, request sockets) and are skipped.
func parseDiagReply(b []byte, seq uint32, r diagRequest, found func(inode uint32, class uint8)) (done bool, err error) {
	for len(b) > 0 {
		if len(b) < unix.NLMSG_HDRLEN {
			return false, errDiagReply
		}
		size := binary.NativeEndian.Uint32(b[0:])
		typ := binary.NativeEndian.Uint16(b[4:])
		msgSeq := binary.NativeEndian.Uint32(b[8:])
		if size < unix.NLMSG_HDRLEN || uint64(size) > uint64(len(b)) {
			return false, errDiagReply
		}
		body := b[unix.NLMSG_HDRLEN:size]
		// Messages start 4-byte aligned; the last one may lack its padding.
		b = b[min(len(b), int(size+3)&^3):]
		if msgSeq != seq {
			continue
		}
		switch typ {
		case unix.NLMSG_DONE, unix.NLMSG_ERROR:
			// Both carry an int: 0 or minus an errno.
			if len(body) < 4 {
				return false, errDiagReply
			}
			if e := int32(binary.NativeEndian.Uint32(body)); e < 0 {
				return false, syscall.Errno(-e)
			}
			if typ == unix.NLMSG_DONE {
				return true, nil
			}
		case unix.SOCK_DIAG_BY_FAMILY:
			inode, class, ok := diagSocket(body, r)
			if !ok {
				return false, errDiagReply
			}
			if inode != 0 {
				found(inode, class)
			}
		}
	}
	return false, nil
}

// diagSocket reads the inode and class of the socket of one reply message.
func diagSocket(body []byte, r diagRequest) (inode uint32, class uint8, ok bool) {
	class = r.class
	switch r.family {
	case unix.AF_UNIX:
		// struct unix_diag_msg: family, type, state, pad, ino u32, cookie.
		if len(body) < 16 || body[0] != unix.AF_UNIX {
			return 0, 0, false
		}
		return binary.NativeEndian.Uint32(body[4:]), class, true
	case unix.AF_NETLINK:
		// struct netlink_diag_msg: family, type, protocol, state, portid,
		// dst_portid, dst_group, ino u32, cookie.
		if len(body) < 28 || body[0] != unix.AF_NETLINK {
			return 0, 0, false
		}
		return binary.NativeEndian.Uint32(body[16:]), class, true
	default:
		// struct inet_diag_msg: family, state, timer, retrans, sockid
		// (sport, dport big-endian u16, ...; 48 bytes), expires, rqueue,
		// wqueue, uid, inode u32.
		if len(body) < 72 || body[0] != r.family {
			return 0, 0, false
		}
		if class == sockUDP && body[1] == tcpEstablished && binary.BigEndian.Uint16(body[6:]) == dnsPort {
			class |= sockDNS
		}
		return binary.NativeEndian.Uint32(body[68:]), class, true
	}
}

// lookup returns the class of the socket of inode, if the dump has it.
func (d *diagSockets) lookup(inode uint64) (uint8, bool) {
	if d == nil || inode > 1<<32-1 {
		return 0, false
	}
	class, ok := d.class[uint32(inode)]
	return class, ok
}
