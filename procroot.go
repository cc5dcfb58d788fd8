package sockwatch

import (
	"os"
	"path/filepath"
	"syscall"
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

// netDir returns the net directory that describes the host: that of PID 1's
// network namespace, so that an agent in a container reads the host when the
// host's /proc is mounted, falling back to root/net when PID 1 cannot be
// seen (hidepid, a proc tree without processes).
func netDir(root string) string {
	if dir := filepath.Join(root, "1", "net"); readable(filepath.Join(dir, "sockstat")) {
		return dir
	}
	return filepath.Join(root, "net")
}

// procSuperMagic is the f_type of a procfs mount.
const procSuperMagic = 0x9fa0

// otherNetNS reports whether dir, a net directory, belongs to a network
// namespace other than this process's: an agent in a container reading the
// host's /proc through HOST_PROC, or a check pointed at another process's
// /proc. Proc numbers each namespace's sockstat once, whatever the mount or
// the process it is reached through, so comparing inode numbers tells. A
// directory that is not on procfs (a captured tree) is taken as it is.
func otherNetNS(dir string) bool {
	if !onProc(dir) {
		return false
	}
	var theirs, ours syscall.Stat_t
	if syscall.Stat(filepath.Join(dir, "sockstat"), &theirs) != nil ||
		syscall.Stat("/proc/self/net/sockstat", &ours) != nil {
		return false
	}
	return theirs.Ino != ours.Ino
}
