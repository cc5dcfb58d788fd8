package sockwatch

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sockwatch/sockwatch/bpf"
	"github.com/sockwatch/sockwatch/internal/procfile"
)

// The two ways Reader.Owners reads the processes' descriptors (Owners.Via).
const (
	// ViaTaskFiles is one pass of a BPF task_file iterator over every
	// process's descriptors, which reads each socket's family, type,
	// protocol, state, namespace and UNIX address in the kernel.
	ViaTaskFiles = "bpf task_file iterator"
	// ViaProcFD is a readlink of every /proc/PID/fd entry, the socket
	// classified by a sock_diag dump or its system.sockprotoname attribute.
	ViaProcFD = "/proc/PID/fd"
)

// iterate runs the task_file iterator once, calling found with every socket
// descriptor, process by process.
type iterate func(found func(*bpf.TaskSocket) error) error

// taskFiles is the iterator, loaded on first use and kept for the life of
// the process: loading takes privileges (and kernel BTF, some milliseconds)
// that running it again does not, so an agent that drops its capabilities
// after its first scan keeps the fast path.
var taskFiles struct {
	sync.Mutex
	t   *bpf.TaskFiles
	err error
}

// initPIDNS is PROC_PID_INIT_INO, the inode of the initial PID namespace.
const initPIDNS = 0xEFFFFFFC

// iteratorFor returns the iterator to scan the processes of the proc root,
// or why there is none.
func iteratorFor(root string) (iterate, error) {
	// The iterator names processes by their ID in the initial PID
	// namespace, and visits the tasks of the reader's: that must be the
	// namespace root shows, and root this kernel's proc.
	self, err := os.Readlink(filepath.Join(root, "self"))
	if err != nil || self != strconv.Itoa(os.Getpid()) {
		return nil, fmt.Errorf("%s is not the proc of this process's PID namespace", root)
	}
	if ns, err := procfile.Namespace(filepath.Join(root, "self", "ns", "pid")); err != nil || ns != initPIDNS {
		return nil, errors.New("not in the initial PID namespace")
	}
	taskFiles.Lock()
	defer taskFiles.Unlock()
	if taskFiles.t == nil && taskFiles.err == nil {
		taskFiles.t, taskFiles.err = bpf.LoadTaskFiles()
	}
	if taskFiles.err != nil {
		return nil, taskFiles.err
	}
	return taskFiles.t.Sockets, nil
}

// taskScan aggregates the iterator's records. They come process by
// process: the counts of one process are kept until the next starts, when
// its name and user are read, as the /proc scan reads them.
type taskScan struct {
	w *ownerScan // the owners, and the buffers to read a process's name
	// holders counts, per path and namespace, the descriptors of each
	// owner bound to it or connected to a socket bound to it.
	holders map[nsPath]map[uidKey]int64
	dns     map[uint64]struct{} // inodes of the UDP sockets connected to port 53
	// probe is a few sockets of the unix table the paths are counted in:
	// unixNS is the namespace of the first of them met, that table's.
	probe  map[uint64]struct{}
	unixNS uint32

	tgid uint32
	c    Owner
	// paths is the current process's: counters behind pointers, so that
	// counting a path already met is a lookup, which does not copy the key
	// as an assignment would.
	paths map[nsPath]*int64
	path  []byte
}

// nsPath is a UNIX path in the namespace of the socket bound to it.
type nsPath struct {
	ns   uint32
	path string
}

// scanTaskFiles runs the iterator once over the processes of root; probe is
// the inodes of some sockets of the unix table whose paths' holders are
// wanted.
func scanTaskFiles(it iterate, root string, probe map[uint64]struct{}) (*taskScan, error) {
	s := &taskScan{
		w:       newOwnerScan(root, nil, nil),
		holders: make(map[nsPath]map[uidKey]int64),
		dns:     make(map[uint64]struct{}),
		probe:   probe,
		paths:   make(map[nsPath]*int64),
		path:    make([]byte, 0, unixPathMax),
	}
	err := it(func(sock *bpf.TaskSocket) error {
		if sock.TGID != s.tgid {
			s.flush()
			s.tgid = sock.TGID
		}
		s.add(sock)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.flush()
	return s, nil
}

// add counts one socket descriptor of the current process. A socket
// without a sock (family 0) is being released under a process that is
// closing it or exiting: it is in no socket table any more, and not
// counted.
func (s *taskScan) add(sock *bpf.TaskSocket) {
	if sock.Family == 0 {
		return
	}
	c := &s.c
	class := socketClass(sock.Family, sock.Type, sock.Protocol)
	c.count(class)
	switch class {
	case sockUnix:
		if s.unixNS == 0 {
			if _, ok := s.probe[sock.Inode]; ok {
				s.unixNS = sock.NetNS
			}
		}
		if len(sock.Path) > 0 {
			s.path = appendUnixPath(s.path[:0], sock.Path)
			if c := s.paths[nsPath{ns: sock.PathNetNS, path: string(s.path)}]; c != nil {
				*c++
			} else {
				one := int64(1)
				s.paths[nsPath{ns: sock.PathNetNS, path: string(s.path)}] = &one
			}
		}
	case sockUDP:
		if sock.State == tcpEstablished && sock.DPort == dnsPort {
			c.DNS++
			s.dns[sock.Inode] = struct{}{}
		}
	}
}

// flush adds the current process's counts to its owner's, once its name
// and user are read. A process that exited meanwhile is left out, as the
// /proc scan leaves it out; one whose name may not be read is counted as
// not inspected.
func (s *taskScan) flush() {
	c := s.c
	s.c = Owner{}
	defer clear(s.paths)
	if c.Sockets == 0 {
		return
	}
	w := s.w
	w.path = strconv.AppendUint(append(append(w.path[:0], w.root...), '/'), uint64(s.tgid), 10)
	pidEnd := len(w.path)
	// The process directory has the owner of its fd directory, which the
	// /proc scan reads: both come from task_dump_owner.
	var st syscall.Stat_t
	err := procfile.Stat(string(w.path), &st)
	var comm []byte
	if err == nil {
		w.path = append(w.path[:pidEnd], "/comm\x00"...)
		comm, err = w.readComm()
	}
	if err != nil {
		if procfile.Denied(err) {
			w.notInspected++
		}
		return
	}
	w.owner(comm, st.Uid, &c)
	key := uidKey{name: string(comm), uid: st.Uid}
	for p, n := range s.paths {
		h := s.holders[p]
		if h == nil {
			h = make(map[uidKey]int64)
			s.holders[p] = h
		}
		h[key] += *n
	}
}

// socketClass classifies a socket by its family, type and protocol as its
// system.sockprotoname names it (the name of the protocol it was created
// with).
func socketClass(family, typ, protocol uint16) uint8 {
	switch family {
	case unix.AF_UNIX:
		return sockUnix
	case unix.AF_NETLINK:
		return sockNetlink
	case unix.AF_INET, unix.AF_INET6:
	default:
		return sockOther
	}
	if typ == unix.SOCK_RAW {
		return sockRaw
	}
	switch protocol {
	case unix.IPPROTO_TCP, unix.IPPROTO_MPTCP:
		if typ == unix.SOCK_STREAM {
			return sockTCP
		}
	case unix.IPPROTO_UDP:
		if typ == unix.SOCK_DGRAM {
			return sockUDP
		}
	case unix.IPPROTO_UDPLITE:
		return sockUDPLite
	}
	// Ping (ICMP datagram), SCTP, L2TP, SMC...
	return sockOther
}

// appendUnixPath appends the UNIX address whose sun_path (the bytes of the
// address after its family) is sunPath as the unix table prints it: an
// abstract name with "@" for its leading NUL, a pathname without its
// terminating NUL, any other NUL as "@".
func appendUnixPath(dst, sunPath []byte) []byte {
	i, n := 0, len(sunPath)
	if sunPath[0] == 0 {
		dst = append(dst, '@')
		i = 1
	} else {
		n--
	}
	for ; i < n; i++ {
		b := sunPath[i]
		if b == 0 {
			b = '@'
		}
		dst = append(dst, b)
	}
	return dst
}

// probeSize is how much of the head of the unix table probeUnixTable reads:
// a page or two of rows, among which some socket held by a process.
const probeSize = 8 << 10

// probeUnixTable returns the inodes of the sockets in the first rows of the
// unix table at path, whose namespace is that of the first of them the
// iterator meets: the namespace of a net directory cannot be told from the
// directory itself, and its process's ns/net link is not always readable,
// even by root (PID 1 in a sandbox). An unreadable table gives none.
func probeUnixTable(path string) map[uint64]struct{} {
	probe := make(map[uint64]struct{})
	buf := make([]byte, probeSize)
	n := 0
	procfile.StreamFile(path, func(r io.Reader) error {
		n, _ = io.ReadFull(r, buf)
		return nil
	})
	var fbuf [8][]byte
	procfile.Lines(buf[:n], func(_ int, line []byte) error {
		// Only whole rows: a path with a newline continues on a line of
		// another shape, and the last line may be cut.
		if _, _, ok := unixRow(line); ok {
			if f := procfile.Fields(line, fbuf[:]); len(f) >= 7 {
				if inode, err := procfile.Atoi(f[6]); err == nil && inode > 0 {
					probe[uint64(inode)] = struct{}{}
				}
			}
		}
		return nil
	})
	return probe
}

// unixHolders sets the holders of each path of o.UnixPaths, the top largest:
// the descriptors of the paths of the table's namespace ns.
func (o *Owners) unixHolders(holders map[nsPath]map[uidKey]int64, ns uint32, users userNames, top int) {
	if ns == 0 {
		return
	}
	for i := range o.UnixPaths {
		p := &o.UnixPaths[i]
		byOwner := make(map[ownerKey]int64)
		for k, n := range holders[nsPath{ns: ns, path: p.Path}] {
			byOwner[ownerKey{name: k.name, user: users.name(k.uid)}] += n
		}
		p.Holders = make([]Holder, 0, len(byOwner))
		for k, n := range byOwner {
			p.Holders = append(p.Holders, Holder{Name: k.name, User: k.user, Sockets: n})
		}
		p.Holders = topN(p.Holders, top, func(a, b Holder) int {
			return cmp.Or(cmp.Compare(b.Sockets, a.Sockets), cmp.Compare(a.Name, b.Name), cmp.Compare(a.User, b.User))
		})
	}
}
