package procfile

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
)

// ParseLink returns N of a "kind:[N]" link target, as proc gives a
// descriptor's ("socket:[517320]") or a namespace's ("net:[4026531840]"):
// N written as the kernel writes it, digits without a leading zero, and
// not zero, which no inode is.
func ParseLink(link []byte, kind string) (uint64, bool) {
	rest, ok := bytes.CutPrefix(link, []byte(kind))
	if !ok || len(rest) < 4 || rest[0] != ':' || rest[1] != '[' || rest[len(rest)-1] != ']' {
		return 0, false
	}
	digits := rest[2 : len(rest)-1]
	if digits[0] < '1' || digits[0] > '9' {
		return 0, false
	}
	v, err := Atoi(digits)
	if err != nil || v <= 0 {
		return 0, false
	}
	return uint64(v), true
}

// nsNames are the namespaces read, as errors name them.
var nsNames = map[string]string{"net": "network", "pid": "PID"}

// Namespace is the identity of a namespace of a process, read from its
// link PROC/PID/ns/KIND, path (KIND being "net", "pid"...): N of the link's
// "KIND:[N]", the inode nsfs gives the namespace, which lsns, ip netns
// identify and nsenter show, and which the kernel's BPF programs read as
// the namespace's inum. The link is read rather than followed (a stat would
// give the same inode on proc), so that it reads the same in a captured
// tree. Reading it takes ptrace access to the process: root, or
// CAP_SYS_PTRACE, for other users' processes.
//
// Errors are FileErrors naming the link; IsLinkError tells a link that
// names no namespace of the kind from one that could not be read.
func Namespace(path string) (uint64, error) {
	var link [64]byte
	kind := filepath.Base(path)
	n, err := Readlink(path, link[:])
	if err != nil {
		return 0, &FileError{Path: path, Err: err}
	}
	inode, ok := ParseLink(link[:n], kind)
	if !ok {
		return 0, &FileError{Path: path, Err: linkError{link: string(link[:n]), kind: kind}}
	}
	return inode, nil
}

// linkError is a namespace link that names no namespace of its kind.
type linkError struct{ link, kind string }

func (e linkError) Error() string {
	return fmt.Sprintf("%q is not a %s namespace link", e.link, nsNames[e.kind])
}

// IsLinkError reports whether err is Namespace's for a link that names no
// namespace of its kind.
func IsLinkError(err error) bool { return errors.As(err, new(linkError)) }

// SockstatInode is the inode proc gives a net directory's sockstat, at
// path. Proc numbers each network namespace's sockstat once, whatever the
// process or the mount it is reached through (PROC/PID/net itself is
// numbered per process), and any user may look at it: it tells namespaces
// apart where Namespace may not be read, for as long as they live. It is no
// name to show: the inode is proc's, not the namespace's.
func SockstatInode(path string) (uint64, error) {
	var st syscall.Stat_t
	if err := Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}
