package sockwatch

import (
	"cmp"
	"errors"
	"io"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// OwnerOptions tunes Reader.Owners and ScanOwners. The zero value is ready
// to use.
type OwnerOptions struct {
	// Top is how many owners and UNIX paths are kept, the largest first;
	// 0 or less keeps them all.
	Top int
	// Workers is how many processes are scanned at once; GOMAXPROCS by
	// default. The scan is bound by system calls, one per descriptor (two
	// for a socket of another namespace), so one worker per CPU keeps every
	// CPU busy.
	Workers int
	// PasswdFile resolves user IDs to names; /etc/passwd by default. Under
	// HOST_PROC that is the agent's own (the container's) passwd file, not
	// the host's: mount the host's and point this at it, or read uids.
	PasswdFile string
	// UnixNetDir is the net directory whose unix table is counted per path;
	// by default the host's, as for every other host-wide figure (that of
	// PID 1's namespace, else Root/net).
	UnixNetDir string
	// NoIterator reads /proc/PID/fd even where the BPF task_file iterator
	// could be loaded.
	NoIterator bool

	// noSockDiag classifies every socket by its attribute and finds every
	// DNS socket in the udp tables, as for sockets of other namespaces: the
	// tests compare the two ways.
	noSockDiag bool
}

// Owner is the sockets held by the processes of one name and user.
//
// Counts are of socket file descriptors, as lsof counts them and as
// RLIMIT_NOFILE bounds them: a socket inherited by 12 worker processes counts
// 12 times, once in each process that holds it.
type Owner struct {
	Name string // the process name (comm), at most 15 bytes, any byte but NUL
	User string // the effective user's name, or the numeric uid when it has none

	Sockets int64 // all socket descriptors: Unix+TCP+UDP+Raw+Netlink+Other
	Unix    int64
	TCP     int64 // TCP and TCPv6
	UDP     int64 // UDP, UDPv6, UDP-Lite
	Raw     int64 // raw IPv4 and IPv6
	Netlink int64
	Other   int64 // packet, ping, SCTP, vsock, ...
	// DNS is how many of its UDP sockets are connected to port 53.
	DNS int64

	Processes int64 // processes holding at least one socket
}

// UnixPath is the number of UNIX sockets bound to one path: a listener and
// the connections it accepted share its path.
type UnixPath struct {
	// Path as the kernel prints it: an abstract name starts with "@", and a
	// path may hold any byte but NUL, newlines included.
	Path    string
	Sockets int64
	// Holders is the owners holding the most descriptors of sockets bound
	// to the path (a listener, the connections it accepted) or connected
	// to one that is (a client of docker.sock), at most Top of them, by
	// Sockets descending, then name and user. Only the task_file iterator
	// reads each socket's address and peer (Via is ViaTaskFiles): nil
	// otherwise.
	Holders []Holder
}

// Holder is the descriptors of one UNIX path held by the processes of one
// name and user.
type Holder struct {
	Name    string
	User    string
	Sockets int64
}

// Owners is the result of one scan of every process's descriptors.
type Owners struct {
	// ByProcess is the owners with the most sockets, at most Top of them,
	// by Sockets descending, then name and user.
	ByProcess []Owner
	// UnixPaths is the paths with the most sockets, at most Top of them, by
	// Sockets descending, then path; nil when the table could not be read
	// (see Errors).
	UnixPaths []UnixPath

	// Totals over every process inspected, before the cut to Top.
	Sockets   int64 // socket descriptors
	Processes int   // processes holding at least one socket
	Owners    int   // distinct (name, user) pairs holding sockets

	// UnixSockets is the number of rows of the unix table read for
	// UnixPaths (every UNIX socket of that namespace, bound or not), and
	// UnixBoundPaths the number of distinct paths in it.
	UnixSockets    Num
	UnixBoundPaths Num

	// DNSSockets is the number of UDP sockets connected to port 53 in the
	// network namespaces of the processes that hold UDP sockets, each socket
	// counted once however many processes hold it. Unknown when one of those
	// namespaces' udp tables could not be read.
	DNSSockets Num

	// NotInspected is the number of processes whose descriptors could not be
	// read (not root, or without CAP_SYS_PTRACE): their sockets are in no
	// figure above. Processes that exit during the scan are not counted.
	NotInspected int

	// Errors lists the sources, other than the process list, that could not
	// be read or parsed: the unix table, a udp table, the passwd file.
	Errors []error

	// Via is how the descriptors were read: ViaTaskFiles, or ViaProcFD,
	// when IteratorErr says why the iterator was not used (not root, no
	// kernel BTF, an older kernel, a proc root of another PID namespace,
	// NoIterator). Both give the same figures; only the iterator gives the
	// holders of the UNIX paths.
	Via         string
	IteratorErr error
	// viaDiag is how many socket descriptors the sock_diag dump classified.
	viaDiag int64
}

// Owners reads the socket descriptors of every process under the proc
// root and aggregates them per process name and user, counts the UNIX
// sockets per bound path, and finds the UDP sockets connected to DNS
// servers. Sockets in other network namespaces count for the process that
// holds them.
//
// Where it can (root, or CAP_BPF and CAP_PERFMON; kernel BTF; Linux 5.16 or
// later; the proc root of the initial PID namespace), it reads them all in
// one pass of a BPF task_file iterator, which reads each socket's family,
// protocol, state, namespace and UNIX address in the kernel: no system call
// per descriptor, and the holders of each UNIX path. Elsewhere, or should
// the iterator fail, it reads every /proc/PID/fd, with the same figures
// (Owners.Via says which way was taken).
//
// On that path, the sockets of the scanner's own network namespace are
// classified, and its DNS sockets found, from one NETLINK_SOCK_DIAG dump (as
// ss lists sockets); those of other namespaces, and any the dump does not
// list, by the system.sockprotoname attribute of the descriptor and the udp
// tables of their namespace.
//
// It fails only when the process list cannot be read; every other failure is
// listed in Owners.Errors. Memory is bounded by the number of processes,
// owners and distinct UNIX paths (per namespace, with the iterator, which
// also keeps the inode of each DNS socket), and during the /proc scan only,
// by the sockets: the dump keeps the class of each socket of the scanner's
// namespace by inode (README, Cost), and the workers the inode of
// each UDP socket the dump did not have (8 bytes), to be matched against the
// DNS sockets of its namespace once that namespace's tables are read.
//
// The UNIX paths are those of opt.UnixNetDir, by default the host's net
// directory, the one Read reads.
func (r *Reader) Owners(opt OwnerOptions) (*Owners, error) {
	if opt.UnixNetDir == "" {
		opt.UnixNetDir = r.hostNetDir()
	}
	return ScanOwners(r.Root, opt)
}

// ScanOwners is Reader.Owners for the proc root root, as ProcRoot returns
// it.
func ScanOwners(root string, opt OwnerOptions) (*Owners, error) {
	var it iterate
	itErr := errors.New("NoIterator set")
	if !opt.NoIterator {
		it, itErr = iteratorFor(root)
	}
	return scanOwners(root, opt, it, itErr)
}

// scanOwners is Owners with the iterator it (nil when there is none, for
// the reason itErr).
func scanOwners(root string, opt OwnerOptions, it iterate, itErr error) (*Owners, error) {
	o := &Owners{Via: ViaProcFD, IteratorErr: itErr}
	if opt.UnixNetDir == "" {
		opt.UnixNetDir = netDir(root)
	}
	unixTable := filepath.Join(opt.UnixNetDir, "unix")
	// The unix table is read while the descriptors are: it is the one big
	// file, and reading it costs the kernel as much as the sock_diag dump,
	// or a few thousand descriptors.
	var unixRead sync.WaitGroup
	readUnix := sync.OnceFunc(func() {
		unixRead.Go(func() { o.readUnixPaths(unixTable, opt.Top) })
	})

	var results []*ownerScan
	var tasks *taskScan
	if it != nil {
		probe := probeUnixTable(unixTable)
		readUnix()
		var err error
		tasks, err = scanTaskFiles(it, root, probe)
		if err != nil {
			o.IteratorErr = err
		} else {
			o.Via, o.IteratorErr = ViaTaskFiles, nil
			results = []*ownerScan{tasks.w}
		}
	}
	var dns *dnsTables
	if results == nil {
		pids, err := procfile.ListPids(root)
		if err != nil {
			unixRead.Wait()
			return nil, err
		}
		readUnix()
		results, dns = o.scanProcFD(root, pids, opt)
	}
	unixRead.Wait()
	for _, w := range results {
		o.Errors = append(o.Errors, w.errs...)
	}

	users, err := readUsers(opt.PasswdFile)
	if err != nil {
		o.Errors = append(o.Errors, err)
	}
	o.byProcess(results, users, opt.Top)
	if tasks != nil {
		o.DNSSockets = Known(int64(len(tasks.dns)))
		o.unixHolders(tasks.holders, tasks.unixNS, users, opt.Top)
		return o, nil
	}
	dnsTotal, dnsErrs := dns.total()
	o.Errors = append(o.Errors, dnsErrs...)
	if len(dnsErrs) == 0 {
		o.DNSSockets = Known(dnsTotal)
	}
	return o, nil
}

// byProcess adds up the workers' results per process name and user name,
// and keeps the top largest.
func (o *Owners) byProcess(results []*ownerScan, users userNames, top int) {
	byOwner := make(map[ownerKey]*Owner)
	for _, w := range results {
		o.NotInspected += w.notInspected
		for k, c := range w.owners {
			key := ownerKey{name: k.name, user: users.name(k.uid)}
			dst := byOwner[key]
			if dst == nil {
				dst = &Owner{Name: key.name, User: key.user}
				byOwner[key] = dst
			}
			dst.add(c)
		}
	}
	o.Owners = len(byOwner)
	o.ByProcess = make([]Owner, 0, len(byOwner))
	for _, c := range byOwner {
		o.Sockets += c.Sockets
		o.Processes += int(c.Processes)
		o.ByProcess = append(o.ByProcess, *c)
	}
	o.ByProcess = topN(o.ByProcess, top, func(a, b Owner) int {
		return cmp.Or(cmp.Compare(b.Sockets, a.Sockets), cmp.Compare(a.Name, b.Name), cmp.Compare(a.User, b.User))
	})
}

// scanProcFD reads the descriptors of the processes pids through their
// /proc/PID/fd directories. It runs while the unix table is read into o:
// the errors are left in the results.
func (o *Owners) scanProcFD(root string, pids []string, opt OwnerOptions) ([]*ownerScan, *dnsTables) {
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, max(len(pids), 1))

	var diag *diagSockets
	if !opt.noSockDiag && procfile.OnProc(root) {
		// A proc root that is no procfs (a copy, a fixture) links to
		// inodes that are not this kernel's sockets.
		diag = dumpSockets()
	}
	dns := &dnsTables{}
	if diag != nil && diag.dns != nil {
		dns.preload(diag.ns, diag.dns)
	}
	results := make([]*ownerScan, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for i := range results {
		w := newOwnerScan(root, dns, diag)
		results[i] = w
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(pids)) {
					return
				}
				w.scan(pids[i])
			}
		})
	}

	wg.Wait()
	dns.wait()
	for _, w := range results {
		if w.diagUDP {
			dns.meet(diag.ns)
		}
		o.viaDiag += w.viaDiag
		for _, p := range w.pending {
			p.owner.DNS += dns.count(p.ns, p.pidDir, w.udp[p.from:p.to])
		}
		w.udp, w.pending = nil, nil
	}
	return results, dns
}

type ownerKey struct{ name, user string }

func (o *Owner) add(c *Owner) {
	o.Sockets += c.Sockets
	o.Unix += c.Unix
	o.TCP += c.TCP
	o.UDP += c.UDP
	o.Raw += c.Raw
	o.Netlink += c.Netlink
	o.Other += c.Other
	o.DNS += c.DNS
	o.Processes += c.Processes
}

// readUnixPaths fills the UNIX path figures from the table at path.
func (o *Owners) readUnixPaths(path string, top int) {
	var counts map[string]*int64
	var rows int64
	err := procfile.StreamFile(path, func(r io.Reader) (err error) {
		counts, rows, err = tallyUnixPaths(path, r)
		return err
	})
	if err != nil {
		o.Errors = append(o.Errors, err)
		return
	}
	o.UnixSockets = Known(rows)
	o.UnixBoundPaths = Known(int64(len(counts)))
	o.UnixPaths = make([]UnixPath, 0, len(counts))
	for p, c := range counts {
		o.UnixPaths = append(o.UnixPaths, UnixPath{Path: p, Sockets: *c})
	}
	o.UnixPaths = topN(o.UnixPaths, top, func(a, b UnixPath) int {
		return cmp.Or(cmp.Compare(b.Sockets, a.Sockets), cmp.Compare(a.Path, b.Path))
	})
}

// tallyUnixPaths counts the sockets per path of the unix table read from r.
// It allocates once per distinct path, not per socket: the counters are
// pointers, so that counting a path already seen is a lookup, which does not
// copy the key as an assignment would.
func tallyUnixPaths(path string, r io.Reader) (map[string]*int64, int64, error) {
	counts := make(map[string]*int64)
	rows, err := countUnixPaths(path, r, func(p []byte) {
		if c := counts[string(p)]; c != nil {
			*c++
			return
		}
		one := int64(1)
		counts[string(p)] = &one
	})
	return counts, rows, err
}

// How says how the owners were read: "read through the bpf task_file
// iterator", or from /proc with the reason the iterator was not used.
func (o *Owners) How() string {
	if o.IteratorErr != nil {
		return "read from " + o.Via + " (bpf task_file iterator not used: " + o.IteratorErr.Error() + ")"
	}
	return "read through the " + o.Via
}
