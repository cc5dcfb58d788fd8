package sockwatch

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
)

// NetNS is the socket accounting of one network namespace, read through the
// net directory of a process inside it (PROC/PID/net), which shows the
// namespace of that process whatever the reader's own.
//
// Only per-namespace figures are set. In Sockstat, TCPOrphan, TCPAlloc,
// TCPMemPages and UDPMemPages are unknown: the kernel prints the host-wide
// value in every namespace, so they belong to the host's Snapshot. No limit
// is per namespace here: tcp_mem, udp_mem and tcp_max_orphans are global, and
// tcp_max_tw_buckets, though each namespace has its own, is shown only under
// /proc/sys, which always shows the reader's namespace; reading another's
// would mean entering it (setns), which an agent must not do.
type NetNS struct {
	// Inode names the namespace: N in the "net:[N]" link of
	// PROC/PID/ns/net, as ip netns identify, lsns and nsenter show it. It
	// is 0 when no process of the namespace let the reader resolve that
	// link, which takes ptrace access to the process (root, or
	// CAP_SYS_PTRACE, for other users' processes).
	Inode uint64
	// PID is the lowest process ID seen in the namespace, whose net
	// directory was read, and Comm that process's name as PROC/PID/comm
	// has it, without the trailing newline: untrusted text, which may hold
	// any byte but NUL.
	PID  int
	Comm string
	// PIDs are the processes seen in the namespace, in ascending order.
	PIDs []int
	// Key names the namespace where Inode cannot: "ns" and the inode, or
	// "sockstat" and the inode proc gives the namespace's net/sockstat, which
	// any user may look at and which stays the same while the namespace
	// lives. What Inode is, when it is known, decides.
	Key string
	// NetDir is the net directory read: PROC/PID/net.
	NetDir string

	// Sockstat has the per-namespace counts: SocketsUsed, every inuse,
	// TCPTimeWait, FRAG and FRAG6, MPTCP. Its NumOtherSock applies as for
	// the host.
	Sockstat Sockstat
	// Counters are all per namespace: an abort for memory inside a
	// container is counted in the container's namespace only.
	Counters Counters

	// Errors lists the sources other than sockstat that exist but could
	// not be read or parsed; their figures are unknown.
	Errors []error

	// Host is set on the namespace of the snapshot passed to Namespaces,
	// whose figures were taken from it rather than read again.
	Host bool
}

// NetNSScan is the result of Reader.Namespaces.
type NetNSScan struct {
	// Namespaces are ordered by PID: the initial namespace first when PID 1
	// is visible.
	Namespaces []NetNS
	// Unreadable counts the processes whose net directory could not be
	// looked at: namespaces only they are in are missing.
	Unreadable int
	// Errors lists namespaces found but not read (their sockstat could not
	// be read or parsed) and ns/net links that do not name a network
	// namespace.
	Errors []error
}

// nsLinkPrefix starts the target of a PROC/PID/ns/net link: "net:[INODE]".
var nsLinkPrefix = []byte("net:[")

// Namespaces reads every network namespace that a process under the proc
// root is in, once each, through the lowest PID in it. Processes that exit
// during the walk are skipped silently; when the process chosen for a
// namespace exits before its figures are read, the next one in that
// namespace is read instead. Only thread group leaders are walked: a thread
// that moved itself alone into another namespace is not seen.
//
// Processes are grouped by the inode of their net/sockstat, which proc
// numbers once per namespace (PROC/PID/net itself is numbered per process)
// and which, unlike the ns/net link, any user
// may look at: an agent that is not root still finds, and reads, every
// namespace, though it may not name them (see NetNS.Inode). Looking at
// every process is most of the cost on a busy host, proc not caching the
// lookup (README, Cost).
//
// host, when not nil, is a snapshot just taken by the same Reader: its
// namespace is not read again but takes the snapshot's figures, and is
// marked Host.
//
// It fails only when the proc root cannot be listed.
func (r *Reader) Namespaces(host *Snapshot) (*NetNSScan, error) {
	names, err := listPids(r.Root)
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(names))
	for _, name := range names {
		// As the kernel prints a PID: no leading zero.
		if pid, err := strconv.Atoi(name); err == nil && pid > 0 && strconv.Itoa(pid) == name {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)

	// The processes of each namespace, in ascending PID order; order lists
	// the namespaces by their lowest PID.
	scan := &NetNSScan{}
	members := make(map[uint64][]int)
	var order []uint64
	for i, ino := range netDirInodes(r.Root, pids) {
		switch ino {
		case inoVanished:
			// Gone, or a zombie, which has no namespaces left.
			continue
		case inoUnreadable:
			scan.Unreadable++
			continue
		}
		if members[ino] == nil {
			order = append(order, ino)
		}
		members[ino] = append(members[ino], pids[i])
	}

	var hostIno uint64
	var st syscall.Stat_t
	if host != nil && stat(filepath.Join(host.NetDir, "sockstat"), &st) == nil {
		hostIno = st.Ino
	}
	scan.Namespaces = make([]NetNS, 0, len(order))
	for _, key := range order {
		pids := members[key]
		for i, pid := range pids {
			var ns NetNS
			var err error
			if key == hostIno {
				ns, err = r.hostNetNS(pid, host)
			} else {
				ns, err = r.readNetNS(pid)
			}
			if IsNotExist(err) {
				continue // the process left: read through the next one
			}
			if err != nil {
				scan.Errors = append(scan.Errors, err)
				break
			}
			ns.Inode = r.nsInode(pids[i:], &scan.Errors)
			ns.PIDs = pids[i:]
			if ns.Inode != 0 {
				ns.Key = "ns" + strconv.FormatUint(ns.Inode, 10)
			} else {
				ns.Key = "sockstat" + strconv.FormatUint(key, 10)
			}
			scan.Namespaces = append(scan.Namespaces, ns)
			break
		}
	}
	if host != nil {
		host.otherTCP = otherTCP(scan)
	}
	return scan, nil
}

// Markers of netDirInodes for the processes not to group.
const (
	inoVanished   = 0
	inoUnreadable = ^uint64(0)
)

// netDirInodes is the inode of PROC/PID/net/sockstat for each of pids, in
// order: inoVanished for a process that is gone (or a zombie, which has no
// namespaces left), inoUnreadable for one that may not be looked at.
func netDirInodes(root string, pids []int) []uint64 {
	inos := make([]uint64, len(pids))
	for i, pid := range pids {
		var st syscall.Stat_t
		err := stat(filepath.Join(root, strconv.Itoa(pid), "net", "sockstat"), &st)
		switch {
		case err == nil && st.Ino != inoVanished && st.Ino != inoUnreadable:
			inos[i] = st.Ino
		case err == nil, !vanished(err):
			inos[i] = inoUnreadable
		}
	}
	return inos
}

// otherTCP is the TCP sockets (TCP, TCP6, MPTCP) of the namespaces of scan
// but the host's: unknown when a process or a namespace could not be read.
func otherTCP(scan *NetNSScan) Num {
	if scan.Unreadable > 0 || len(scan.Errors) > 0 {
		return Num{}
	}
	var n int64
	for i := range scan.Namespaces {
		st := &scan.Namespaces[i].Sockstat
		if scan.Namespaces[i].Host {
			continue
		}
		if !st.TCPInUse.Known {
			return Num{}
		}
		n += st.TCPInUse.Value + st.TCP6InUse.Value + st.MPTCPInUse.Value + st.MPTCP6InUse.Value
	}
	return known(n)
}

// readNetNS reads the namespace of process pid. It returns an error for
// which IsNotExist holds when the process exited before every figure was
// read, so that they are not half from the namespace and half unknown.
func (r *Reader) readNetNS(pid int) (NetNS, error) {
	ns, err := r.netNSProcess(pid)
	if err != nil {
		return ns, err
	}
	if !r.NamespaceCountersOnly || r.kernel.Before(4, 16) {
		ns.Sockstat, ns.Errors, err = r.readSockstat(&r.fr, ns.NetDir)
		if err != nil {
			return ns, err
		}
		ns.Sockstat = perNamespace(ns.Sockstat)
	}
	if !r.SkipCounters {
		var errs []error
		ns.Counters, errs = readCounters(&r.fr, ns.NetDir)
		ns.Errors = append(ns.Errors, errs...)
	}
	// A missing source is not an error but an unknown figure: make sure
	// none went missing with the process.
	if sockstat := filepath.Join(ns.NetDir, "sockstat"); !readable(sockstat) {
		return ns, &FileError{Path: sockstat, Err: os.ErrNotExist}
	}
	return ns, nil
}

// hostNetNS is the namespace of the snapshot host, which process pid is in:
// its figures are the snapshot's, read moments before.
func (r *Reader) hostNetNS(pid int, host *Snapshot) (NetNS, error) {
	ns, err := r.netNSProcess(pid)
	ns.NetDir = host.NetDir
	ns.Sockstat = perNamespace(host.Sockstat)
	ns.Counters = host.Counters
	ns.Host = true
	return ns, err
}

// netNSProcess is the process of a namespace: its PID, name and net
// directory.
func (r *Reader) netNSProcess(pid int) (NetNS, error) {
	procDir := filepath.Join(r.Root, strconv.Itoa(pid))
	ns := NetNS{PID: pid, NetDir: filepath.Join(procDir, "net")}
	comm, err := r.fr.read(filepath.Join(procDir, "comm"))
	if err != nil {
		return ns, err
	}
	ns.Comm = string(bytes.TrimSuffix(comm, []byte("\n")))
	return ns, nil
}

// perNamespace is st without the figures the kernel prints host-wide in
// every namespace, which belong to the host's Snapshot alone.
func perNamespace(st Sockstat) Sockstat {
	st.TCPOrphan = Num{}
	st.TCPAlloc = Num{}
	st.TCPMemPages = Num{}
	st.UDPMemPages = Num{}
	st.TCPPressure = Num{}
	return st
}

// nsInode resolves the ns/net link of the first of pids, all in one
// namespace, that lets the reader: 0 when none does.
func (r *Reader) nsInode(pids []int, errs *[]error) uint64 {
	var link [64]byte
	for _, pid := range pids {
		path := filepath.Join(r.Root, strconv.Itoa(pid), "ns", "net")
		n, err := readlink(path, link[:])
		if err != nil {
			continue
		}
		if inode, ok := parseNetNSLink(link[:n]); ok {
			return inode
		}
		*errs = append(*errs, &FileError{Path: path,
			Err: fmt.Errorf("%q is not a network namespace link", link[:n])})
	}
	return 0
}

// parseNetNSLink returns the inode of a "net:[INODE]" link target, the
// inode written as the kernel writes it: digits, no leading zero.
func parseNetNSLink(target []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(target, nsLinkPrefix)
	if !ok || len(rest) < 2 || rest[0] < '1' || rest[0] > '9' || rest[len(rest)-1] != ']' {
		return 0, false
	}
	v, err := atoi(rest[:len(rest)-1])
	if err != nil || v <= 0 {
		return 0, false
	}
	return uint64(v), true
}

// stat is syscall.Stat retried on EINTR, as openRetry is for open.
func stat(path string, st *syscall.Stat_t) error {
	for {
		if err := syscall.Stat(path, st); err != syscall.EINTR {
			return err
		}
	}
}

// readlink is syscall.Readlink retried on EINTR.
func readlink(path string, buf []byte) (int, error) {
	for {
		n, err := syscall.Readlink(path, buf)
		if err != syscall.EINTR {
			return n, err
		}
	}
}
