package sockwatch

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// DefaultProcRoot is where proc is read when neither the caller nor
// HOST_PROC says otherwise.
const DefaultProcRoot = "/proc"

// ProcRoot returns the proc root to read: override if it is not empty, else
// the HOST_PROC environment variable (the convention Telegraf and the Prometheus
// exporters share for an agent in a container with the host's /proc mounted),
// else /proc.
func ProcRoot(override string) string {
	if override != "" {
		return filepath.Clean(override)
	}
	if env := os.Getenv("HOST_PROC"); env != "" {
		return filepath.Clean(env)
	}
	return DefaultProcRoot
}

// FileError says which proc file could not be read or parsed and, for a
// parse error, on which line (1-based; 0 when the error is not about a line).
type FileError = procfile.FileError

// IsNotExist reports whether err means a file is absent: the normal case for
// a source that this kernel or namespace does not have, which makes its
// figures unknown without being a problem worth reporting.
func IsNotExist(err error) bool { return procfile.IsNotExist(err) }

// Reader reads socket accounting under one proc root. It keeps a buffer
// and, on a real proc, the dozen files Read reads open between reads, so one
// Reader must not be used by two goroutines at once. A Reader that is
// dropped releases its files when it is collected.
type Reader struct {
	// Root is the proc root, as returned by ProcRoot.
	Root string
	// PageSize converts the kernel's page counts to bytes; the host's by default.
	PageSize int64
	// SkipCounters leaves netstat, snmp and snmp6 unread, and Counters
	// unknown, in Read and Namespaces: for a caller that does not report
	// them, they are half the kernel's cost of a read.
	SkipCounters bool
	// NamespaceCountersOnly makes Namespaces read only the counters of the
	// namespaces other than the snapshot's (netstat, snmp, snmp6), leaving
	// their Sockstat unknown: for a caller that only sums the counters, it
	// halves the kernel's cost of each. On kernels before 4.16 their
	// sockstat is read all the same: the host's numothersock takes their TCP
	// sockets off.
	NamespaceCountersOnly bool

	fr       procfile.Reader // for Namespaces: many processes, nothing kept open
	host     procfile.Reader // for Read: the same files every time
	hostInit bool
	netDir   string // the host's net directory (hostNetDir); cleared when Read fails
	foreign  bool   // whether netDir is another namespace than the reader's
	// kernel is the release of the kernel read, from sys/kernel/osrelease;
	// read once.
	kernel     Kernel
	kernelRead bool
}

// NewReader returns a Reader for the proc root ProcRoot(root) picks, the
// root resolved once. As prometheus/procfs's NewFS, it fails when that root
// is not a directory. Unlike NewFS, it accepts a root that does not exist
// (yet: a host's proc not mounted into the container), as it accepts a
// directory without proc's files: each read then fails naming the file it
// lacks, the error wrappers have always shown.
func NewReader(root string) (*Reader, error) {
	root = ProcRoot(root)
	if fi, err := os.Stat(root); err == nil && !fi.IsDir() {
		return nil, &FileError{Path: root, Err: errors.New("proc root is not a directory")}
	}
	return &Reader{Root: root, PageSize: int64(os.Getpagesize())}, nil
}

// hostNetDir returns the net directory that describes the host (netDir),
// found once, until a Read fails.
func (r *Reader) hostNetDir() string {
	if r.netDir == "" {
		r.netDir = netDir(r.Root)
		r.foreign = otherNetNS(r.netDir)
	}
	return r.netDir
}

// netDir returns the net directory that describes the host: that of PID 1's
// network namespace, so that an agent in a container reads the host when
// the host's /proc is mounted, falling back to root/net when PID 1 cannot be
// seen (hidepid, a proc tree without processes).
func netDir(root string) string {
	if dir := filepath.Join(root, "1", "net"); procfile.Readable(filepath.Join(dir, "sockstat")) {
		return dir
	}
	return filepath.Join(root, "net")
}

// hold keeps the files of Read open between reads, on a real proc.
func (r *Reader) hold() {
	if r.hostInit {
		return
	}
	r.hostInit = true
	if release := r.host.Hold(r.Root); release != nil {
		runtime.AddCleanup(r, func(release func()) { release() }, release)
	}
}

// otherNetNS reports whether dir, a net directory, belongs to a network
// namespace other than this process's: an agent in a container reading the
// host's /proc through HOST_PROC, or a check pointed at another process's
// /proc. A directory that is not on procfs (a captured tree) is taken as it
// is.
func otherNetNS(dir string) bool {
	if !procfile.OnProc(dir) {
		return false
	}
	theirs, err1 := procfile.SockstatInode(filepath.Join(dir, "sockstat"))
	ours, err2 := procfile.SockstatInode("/proc/self/net/sockstat")
	return err1 == nil && err2 == nil && theirs != ours
}
