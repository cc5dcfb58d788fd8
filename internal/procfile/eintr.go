package procfile

import (
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The system calls the core makes to read the kernel (proc paths, and the
// sock_diag netlink socket), each retried on EINTR.
//
// Go installs its signal handlers with SA_RESTART, yet some filesystems
// (FUSE, CIFS, NFS: a captured tree, a container's bind mount of the host's
// proc) still fail a call with EINTR when a signal lands, and the runtime
// sends itself one to preempt goroutines. The os package retries its calls
// for that reason; the raw calls below, which the core makes to keep
// descriptors and to spare an allocation per call, retry through the one
// helper. An EINTR is never a verdict on the file.

// ignoringEINTR calls f until it fails with something other than EINTR.
func ignoringEINTR[T any](f func() (T, error)) (T, error) {
	for {
		v, err := f()
		if err != syscall.EINTR {
			return v, err
		}
	}
}

// Open opens path read-only, close-on-exec.
func Open(path string) (int, error) {
	return ignoringEINTR(func() (int, error) { return syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0) })
}

// Pread reads from fd at offset.
func Pread(fd int, buf []byte, offset int64) (int, error) {
	return ignoringEINTR(func() (int, error) { return syscall.Pread(fd, buf, offset) })
}

// Stat is stat(2) of path.
func Stat(path string, st *syscall.Stat_t) error {
	_, err := ignoringEINTR(func() (struct{}, error) { return struct{}{}, syscall.Stat(path, st) })
	return err
}

// Statfs is statfs(2) of path.
func Statfs(path string, st *syscall.Statfs_t) error {
	_, err := ignoringEINTR(func() (struct{}, error) { return struct{}{}, syscall.Statfs(path, st) })
	return err
}

// Readlink reads the target of the link at path into buf.
func Readlink(path string, buf []byte) (int, error) {
	return ignoringEINTR(func() (int, error) { return syscall.Readlink(path, buf) })
}

// Fstat is fstat(2) of fd.
func Fstat(fd int, st *unix.Stat_t) error {
	_, err := ignoringEINTR(func() (struct{}, error) { return struct{}{}, unix.Fstat(fd, st) })
	return err
}

// Getdents reads directory entries of the directory open as fd into buf.
func Getdents(fd int, buf []byte) (int, error) {
	return ignoringEINTR(func() (int, error) { return unix.Getdents(fd, buf) })
}

// Read reads from fd.
func Read(fd int, buf []byte) (int, error) {
	return ignoringEINTR(func() (int, error) { return unix.Read(fd, buf) })
}

// Sendto sends buf to the netlink socket fd, to the kernel.
func Sendto(fd int, buf []byte) error {
	_, err := ignoringEINTR(func() (struct{}, error) {
		return struct{}{}, unix.Sendto(fd, buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	})
	return err
}

// Recvfrom receives one datagram from the socket fd into buf.
func Recvfrom(fd int, buf []byte) (int, error) {
	return ignoringEINTR(func() (int, error) {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		return n, err
	})
}

// The calls below take NUL-terminated byte strings that are already in a
// buffer: x/sys/unix's wrappers take Go strings and copy each into a new C
// string, an allocation per call, which the owner scan makes once per
// descriptor.

// Openat opens path (NUL-terminated) relative to the directory dirfd.
func Openat(dirfd int, path *byte, flags int) (int, error) {
	return ignoringEINTR(func() (int, error) {
		fd, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(path)), uintptr(flags), 0, 0, 0)
		if e != 0 {
			return -1, e
		}
		return int(fd), nil
	})
}

// Readlinkat reads the target of the link path (NUL-terminated), relative
// to the directory dirfd, into buf.
func Readlinkat(dirfd int, path *byte, buf []byte) (int, error) {
	return ignoringEINTR(func() (int, error) {
		n, _, e := unix.Syscall6(unix.SYS_READLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(path)),
			uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	})
}

// xattrArgs is struct xattr_args of getxattrat(2).
type xattrArgs struct {
	value uint64
	size  uint32
	flags uint32
}

// sysGetxattrat is the same number on every architecture (Linux 6.13).
const sysGetxattrat = 464

// Getxattrat reads the extended attribute attr of path, relative to the
// directory dirfd, into buf; ENOSYS before Linux 6.13. path and attr are
// NUL-terminated.
func Getxattrat(dirfd int, path, attr *byte, buf []byte) (int, error) {
	return ignoringEINTR(func() (int, error) {
		args := xattrArgs{value: uint64(uintptr(unsafe.Pointer(&buf[0]))), size: uint32(len(buf))}
		n, _, e := unix.Syscall6(sysGetxattrat, uintptr(dirfd), uintptr(unsafe.Pointer(path)), 0,
			uintptr(unsafe.Pointer(attr)), uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args))
		runtime.KeepAlive(buf)
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	})
}

// Getxattr reads the extended attribute attr of path into buf. path and
// attr are NUL-terminated.
func Getxattr(path, attr *byte, buf []byte) (int, error) {
	return ignoringEINTR(func() (int, error) {
		n, _, e := unix.Syscall6(unix.SYS_GETXATTR, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(attr)),
			uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	})
}
