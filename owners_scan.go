package sockwatch

import (
	"bytes"
	"encoding/binary"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// One worker's scan of process descriptors. Every path is built in one
// reused buffer and handed to the kernel with raw system calls, and the
// descriptor names are passed straight from the getdents buffer (where the
// kernel NUL-terminates them), so a descriptor costs one system call and no
// allocation: readlinkat, which tells a socket ("socket:[INODE]") from a file
// without touching the file. The socket's class is then looked up by inode
// in the sock_diag dump of the scanner's namespace (diagSockets); a socket
// that is not in it (another namespace, or one the dump does not list) costs
// a second call, getxattr of system.sockprotoname, which names its protocol
// whatever its namespace and whether or not it is bound or listed anywhere.

// pendingDNS is a process whose UDP sockets udp[from:to] are still to be
// matched against the DNS sockets of its network namespace ns.
type pendingDNS struct {
	owner    *Owner
	ns       uint64
	pidDir   string
	from, to int
}

// uidKey is an owner as the workers see it; uids are resolved to names once,
// at the end.
type uidKey struct {
	name string
	uid  uint32
}

type ownerScan struct {
	root         string
	dns          *dnsTables
	diag         *diagSockets // nil when there is no dump
	owners       map[uidKey]*Owner
	notInspected int
	errs         []error

	// The inodes of the UDP sockets of the processes in pending, whose DNS
	// sockets are counted once their namespaces' udp tables are read.
	udp     []uint64
	pending []pendingDNS
	// diagUDP is set once a UDP socket of the dump's namespace is met, whose
	// DNS sockets then count; viaDiag is how many sockets the dump
	// classified.
	diagUDP bool
	viaDiag int64

	path   []byte // ROOT/PID/fd/N, NUL-terminated when passed to the kernel
	dirent []byte // getdents buffer
	link   [64]byte
	proto  [32]byte
	comm   [64]byte
}

func newOwnerScan(root string, dns *dnsTables, diag *diagSockets) *ownerScan {
	return &ownerScan{
		root:   root,
		dns:    dns,
		diag:   diag,
		owners: make(map[uidKey]*Owner),
		path:   make([]byte, 0, len(root)+64),
		dirent: make([]byte, 32<<10),
	}
}

var sockProtoAttr = []byte("system.sockprotoname\x00")

// scan adds the sockets of process pid to w.owners. A process that exits
// meanwhile is skipped; one whose descriptors may not be read is counted.
func (w *ownerScan) scan(pid string) {
	w.path = append(append(append(w.path[:0], w.root...), '/'), pid...)
	pidEnd := len(w.path)
	w.path = append(w.path, "/fd\x00"...)
	fdEnd := len(w.path) - 1
	dirfd, err := procfile.Openat(unix.AT_FDCWD, &w.path[0], unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		if procfile.Denied(err) {
			w.notInspected++
		}
		return
	}
	// The fd directory belongs to the process's effective user, as its
	// /proc/PID directory does (both take their owner from task_dump_owner).
	var st unix.Stat_t
	err = procfile.Fstat(dirfd, &st)
	var c Owner
	udpStart := len(w.udp)
	if err == nil {
		err = w.sockets(dirfd, fdEnd, &c)
	}
	unix.Close(dirfd)
	if err != nil || c.Sockets == 0 {
		if procfile.Denied(err) {
			w.notInspected++
		}
		w.udp = w.udp[:udpStart]
		return
	}

	w.path = append(w.path[:pidEnd], "/comm\x00"...)
	comm, err := w.readComm()
	if err != nil {
		// Gone, or become unreadable: its descriptors were read, but without
		// a name they cannot be told apart from any other process's.
		if procfile.Denied(err) {
			w.notInspected++
		}
		w.udp = w.udp[:udpStart]
		return
	}
	var dns pendingDNS
	if len(w.udp) > udpStart {
		dns = pendingDNS{pidDir: string(w.path[:pidEnd]), from: udpStart, to: len(w.udp)}
		dns.ns, err = w.dns.namespace(dns.pidDir)
		if err != nil {
			if !procfile.Vanished(err) {
				w.errs = append(w.errs, err)
			}
			w.udp = w.udp[:udpStart]
			return
		}
	}
	dst := w.owner(comm, st.Uid, &c)
	if dns.pidDir != "" {
		dns.owner = dst
		w.pending = append(w.pending, dns)
	}
}

// sockets reads the fd directory open as dirfd and counts its sockets into c.
// w.path holds ROOT/PID/fd up to fdEnd.
func (w *ownerScan) sockets(dirfd, fdEnd int, c *Owner) error {
	for {
		n, err := procfile.Getdents(dirfd, w.dirent)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		for buf := w.dirent[:n]; len(buf) > 0; {
			// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name.
			reclen := int(binary.NativeEndian.Uint16(buf[16:18]))
			if reclen < 20 || reclen > len(buf) {
				return unix.EIO
			}
			rec := buf[:reclen]
			buf = buf[reclen:]
			name := rec[19:]
			if end := bytes.IndexByte(name, 0); end > 0 {
				name = name[:end+1] // keep the NUL the kernel needs
			} else {
				continue
			}
			if name[0] == '.' {
				continue
			}
			if err := w.socket(dirfd, name, fdEnd, c); err != nil {
				return err
			}
		}
	}
}

// socket classifies descriptor name (NUL-terminated) of the process, if it
// is a socket. A descriptor closed meanwhile is skipped. Listing the fd
// directory takes read access to it (the process's user, or
// CAP_DAC_READ_SEARCH), but reading its links takes ptrace access (the same,
// or CAP_SYS_PTRACE): a refused link is returned, so that the process counts
// as not inspected rather than as one without sockets.
func (w *ownerScan) socket(dirfd int, name []byte, fdEnd int, c *Owner) error {
	n, err := procfile.Readlinkat(dirfd, &name[0], w.link[:])
	if err != nil {
		if procfile.Denied(err) {
			return err
		}
		return nil
	}
	inode, ok := procfile.ParseLink(w.link[:n], "socket")
	if !ok {
		return nil
	}
	class, hit := w.diag.lookup(inode)
	if hit {
		w.viaDiag++
	} else {
		n, err := w.sockProto(dirfd, name, fdEnd)
		if err == unix.ENOENT || err != nil && !w.sameSocket(dirfd, name, inode) {
			// Closed meanwhile, or reused: by a pipe, whose attribute
			// is not there, or another socket, seen on its own.
			return nil
		}
		// The value is the name with its NUL, "UDP\x00"; a kernel before
		// 3.0 has no such attribute: counted as other.
		if err == nil {
			class = protoClass(bytes.TrimSuffix(w.proto[:n], []byte{0}))
		}
	}
	c.count(class &^ sockDNS)
	if class&^sockDNS == sockUDP {
		if !hit {
			// Matched against its namespace's DNS sockets once the scan
			// is over.
			w.udp = append(w.udp, inode)
		} else {
			w.diagUDP = true
			if class&sockDNS != 0 {
				c.DNS++
			}
		}
	}
	return nil
}

// sameSocket reports whether descriptor name still links to the socket of
// inode.
func (w *ownerScan) sameSocket(dirfd int, name []byte, inode uint64) bool {
	n, err := procfile.Readlinkat(dirfd, &name[0], w.link[:])
	if err != nil {
		return false
	}
	now, ok := procfile.ParseLink(w.link[:n], "socket")
	return ok && now == inode
}

// protoClass classifies a socket by its system.sockprotoname.
func protoClass(proto []byte) uint8 {
	switch {
	case bytes.HasPrefix(proto, []byte("UNIX")): // UNIX, UNIX-STREAM
		return sockUnix
	case string(proto) == "UDP" || string(proto) == "UDPv6":
		return sockUDP
	case string(proto) == "UDP-Lite" || string(proto) == "UDPLITEv6":
		return sockUDPLite
	case string(proto) == "TCP" || string(proto) == "TCPv6" ||
		string(proto) == "MPTCP" || string(proto) == "MPTCPv6":
		return sockTCP
	case string(proto) == "RAW" || string(proto) == "RAWv6":
		return sockRaw
	case string(proto) == "NETLINK":
		return sockNetlink
	}
	return sockOther
}

// noGetxattrat is set once the kernel says it has no getxattrat (before 6.13).
var noGetxattrat atomic.Bool

// sockProto reads the system.sockprotoname attribute of descriptor name into
// w.proto: relative to the fd directory where the kernel has getxattrat,
// which saves walking ROOT/PID/fd again for every descriptor.
func (w *ownerScan) sockProto(dirfd int, name []byte, fdEnd int) (int, error) {
	if !noGetxattrat.Load() {
		n, err := procfile.Getxattrat(dirfd, &name[0], &sockProtoAttr[0], w.proto[:])
		if err != unix.ENOSYS {
			return n, err
		}
		noGetxattrat.Store(true)
	}
	w.path = append(append(w.path[:fdEnd], '/'), name...)
	return procfile.Getxattr(&w.path[0], &sockProtoAttr[0], w.proto[:])
}

// owner adds c, the sockets of one process, to its owner's (by name and
// uid), and returns that owner.
func (w *ownerScan) owner(comm []byte, uid uint32, c *Owner) *Owner {
	c.Processes = 1
	key := uidKey{name: string(comm), uid: uid}
	dst := w.owners[key]
	if dst == nil {
		dst = &Owner{}
		w.owners[key] = dst
	}
	dst.add(c)
	return dst
}

// readComm reads the process name from w.path (ROOT/PID/comm), without the
// newline the kernel appends.
func (w *ownerScan) readComm() ([]byte, error) {
	fd, err := procfile.Openat(unix.AT_FDCWD, &w.path[0], unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	n, err := procfile.Read(fd, w.comm[:])
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(w.comm[:n], []byte("\n")), nil
}
