package sockwatch

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/sockwatch/sockwatch/internal/procfile"
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
	pids, err := r.sortedPids()
	if err != nil {
		return nil, err
	}
	scan := &NetNSScan{}
	order, members := groupByNetDir(r.Root, pids, &scan.Unreadable)
	var hostIno uint64
	if host != nil {
		hostIno, _ = procfile.SockstatInode(filepath.Join(host.NetDir, "sockstat"))
	}
	scan.Namespaces = make([]NetNS, 0, len(order))
	for _, key := range order {
		if ns, ok := r.readGroup(key, members[key], key == hostIno, host, &scan.Errors); ok {
			scan.Namespaces = append(scan.Namespaces, ns)
		}
	}
	if host != nil {
		host.otherTCP = otherTCP(scan)
	}
	return scan, nil
}

// sortedPids lists the processes under the proc root, in ascending order.
func (r *Reader) sortedPids() ([]int, error) {
	names, err := procfile.ListPids(r.Root)
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
	return pids, nil
}

// groupByNetDir groups pids, in ascending order, by the inode of their
// net/sockstat (procfile.SockstatInode): members has the processes of each
// namespace in ascending order, and order the namespaces by their lowest
// PID. Processes that are gone are skipped, those that may not be looked
// at counted in unreadable.
func groupByNetDir(root string, pids []int, unreadable *int) (order []uint64, members map[uint64][]int) {
	members = make(map[uint64][]int)
	for i, ino := range netDirInodes(root, pids) {
		switch ino {
		case inoVanished:
			// Gone, or a zombie, which has no namespaces left.
			continue
		case inoUnreadable:
			*unreadable++
			continue
		}
		if members[ino] == nil {
			order = append(order, ino)
		}
		members[ino] = append(members[ino], pids[i])
	}
	return order, members
}

// readGroup reads the namespace whose net/sockstat has inode key, through
// the first of pids, its processes, that is still there when it is read:
// from the snapshot host when isHost. ok is false when none is, or when
// the namespace could not be read, the error then added to errs.
func (r *Reader) readGroup(key uint64, pids []int, isHost bool, host *Snapshot, errs *[]error) (NetNS, bool) {
	for i, pid := range pids {
		var ns NetNS
		var err error
		if isHost {
			ns, err = r.hostNetNS(pid, host)
		} else {
			ns, err = r.readNetNS(pid)
		}
		if procfile.Vanished(err) {
			continue // the process left: read through the next one
		}
		if err != nil {
			*errs = append(*errs, err)
			return NetNS{}, false
		}
		ns.Inode = r.nsInode(pids[i:], errs)
		ns.PIDs = pids[i:]
		ns.Key = netNSKey(ns.Inode, key)
		return ns, true
	}
	return NetNS{}, false
}

// netNSKey is NetNS.Key: "ns" and the namespace's inode when it is known,
// else "sockstat" and the inode of its net/sockstat.
func netNSKey(inode, sockstatInode uint64) string {
	if inode != 0 {
		return "ns" + strconv.FormatUint(inode, 10)
	}
	return "sockstat" + strconv.FormatUint(sockstatInode, 10)
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
		ino, err := procfile.SockstatInode(filepath.Join(root, strconv.Itoa(pid), "net", "sockstat"))
		switch {
		case err == nil && ino != inoVanished && ino != inoUnreadable:
			inos[i] = ino
		case err == nil, !procfile.Vanished(err):
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
	return Known(n)
}

// readNetNS reads the namespace of process pid. It returns an error for
// which procfile.Vanished holds when the process exited before every
// figure was read, so that they are not half from the namespace and half
// unknown.
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
	if sockstat := filepath.Join(ns.NetDir, "sockstat"); !procfile.Readable(sockstat) {
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
	comm, err := r.fr.Read(filepath.Join(procDir, "comm"))
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

// nsInode is the namespace's identity (procfile.Namespace), resolved
// through the first of pids, all in one namespace, that lets the reader: 0
// when none does. A link that does not name a network namespace is added
// to errs.
func (r *Reader) nsInode(pids []int, errs *[]error) uint64 {
	for _, pid := range pids {
		inode, err := procfile.Namespace(filepath.Join(r.Root, strconv.Itoa(pid), "ns", "net"))
		if err == nil {
			return inode
		}
		if procfile.IsLinkError(err) {
			*errs = append(*errs, err)
		}
	}
	return 0
}
