package sockwatch

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// DefaultCgroupRoot is where the cgroup2 hierarchy is mounted when neither
// the caller nor HOST_SYS says otherwise.
const DefaultCgroupRoot = "/sys/fs/cgroup"

// ErrNoCgroupSock says that no cgroup under the root read has a memory.stat
// with a sock line: the root is not a cgroup2 mount, or the memory
// controller is not enabled in cgroup v2 (it is bound to a v1 hierarchy, or
// not enabled in the root's cgroup.subtree_control).
var ErrNoCgroupSock = errors.New("no cgroup v2 memory.stat with a sock line")

// CgroupRoot returns the cgroup2 mount to read: override if it is not empty,
// else HOST_SYS/fs/cgroup when HOST_SYS is set (the convention Telegraf
// shares for an agent in a container with the host's /sys mounted), else
// /sys/fs/cgroup. Where that is systemd's hybrid layout (v1 hierarchies,
// with cgroup2 on unified/), the unified directory is returned.
func CgroupRoot(override string) string {
	if override != "" {
		return filepath.Clean(override)
	}
	root := DefaultCgroupRoot
	if env := os.Getenv("HOST_SYS"); env != "" {
		root = filepath.Join(env, "fs", "cgroup")
	}
	if !exists(filepath.Join(root, "cgroup.controllers")) {
		if unified := filepath.Join(root, "unified"); exists(filepath.Join(unified, "cgroup.controllers")) {
			return unified
		}
	}
	return root
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// CgroupSock is the socket buffer memory charged to one cgroup.
//
// It is the sock line of the cgroup's memory.stat: the memory of the send and
// receive buffers of its TCP and UDP sockets (and of the other protocols that
// account memory the same way, such as SCTP and MPTCP). Each socket is bound
// to a cgroup once, when it is created (an accepted connection: when it is
// accepted), to the cgroup of the process doing so, and its buffers are
// charged there for the socket's whole life, wherever its descriptor goes
// later and whichever namespace it is in. Sockets created in the root cgroup
// are charged nowhere. UNIX sockets, netlink, raw and packet sockets are not
// in it; nor are the TIME_WAIT buckets. It is cgroup v2 only: v1's
// memory.stat has no such line (v1 counts TCP alone in
// memory.kmem.tcp.usage_in_bytes, and only once a limit is set there).
type CgroupSock struct {
	// Path is the cgroup's path below the mount read, as in
	// /proc/PID/cgroup: "/" for the root, "/system.slice/nginx.service".
	Path string
	// Bytes is memory.stat's sock: the cgroup's and its descendants'.
	Bytes int64
	// OwnBytes is the cgroup's own share: Bytes less its children's
	// Bytes. For a leaf, where processes live, it is Bytes; for a cgroup
	// with children it is what sockets charged to children that were
	// removed left to it.
	OwnBytes int64
}

// ReadCgroupSockets returns the top cgroups under root, a cgroup2 mount, by
// their own socket buffer memory, largest first (by path when equal): at
// most top, or all when top is 0 or less. Cgroups that hold none are left
// out, so that a host with thousands of idle cgroups costs nothing to
// report. A cgroup removed during the walk is skipped.
//
// It fails, with ErrNoCgroupSock, when no cgroup has a sock line, so that a
// host where this cannot be known is not reported as one without socket
// memory; and with a FileError on a malformed sock line.
func ReadCgroupSockets(root string, top int) ([]CgroupSock, error) {
	root = filepath.Clean(root)
	var fr procfile.Reader
	var all []CgroupSock
	parents := make(map[string]int) // path -> index in all
	found := false
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root || !IsNotExist(err) {
				return err
			}
			return nil // removed meanwhile
		}
		if !d.IsDir() {
			return nil
		}
		stat := filepath.Join(path, "memory.stat")
		data, err := fr.Read(stat)
		if err != nil {
			if !IsNotExist(err) {
				return err
			}
			if path != root {
				// The memory controller is not enabled here, so it is in
				// none of the cgroups below. The root is walked on: on
				// older kernels it has no memory.stat, while its
				// children do.
				return filepath.SkipDir
			}
			return nil
		}
		sock, ok, err := parseSockLine(stat, data)
		if err != nil {
			return err
		}
		if !ok {
			if path != root {
				// A v1 memory hierarchy, whose cgroups all lack it.
				return filepath.SkipDir
			}
			return nil
		}
		found = true
		rel := "/"
		if path != root {
			rel = "/" + filepath.ToSlash(path[len(root)+1:])
			if i, ok := parents[filepath.Dir(rel)]; ok {
				all[i].OwnBytes -= sock
			}
		}
		parents[rel] = len(all)
		all = append(all, CgroupSock{Path: rel, Bytes: sock, OwnBytes: sock})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%s: %w", root, ErrNoCgroupSock)
	}

	return topOwn(all, top), nil
}

// topOwn is the top cgroups of all by their own socket memory, largest
// first (by path when equal), those without any left out; all when top is
// 0 or less.
func topOwn(all []CgroupSock, top int) []CgroupSock {
	held := all[:0]
	for _, c := range all {
		// The figures of parent and children are read at different times:
		// one that moved meanwhile can make a parent's share negative.
		if c.OwnBytes > 0 {
			held = append(held, c)
		}
	}
	return topN(held, top, func(a, b CgroupSock) int {
		return cmp.Or(cmp.Compare(b.OwnBytes, a.OwnBytes), cmp.Compare(a.Path, b.Path))
	})
}

var sockKey = []byte("sock")

// parseSockLine returns the value of the "sock N" line of memory.stat, and
// whether there is one.
func parseSockLine(path string, data []byte) (int64, bool, error) {
	var v int64
	found := false
	var buf [4][]byte
	err := procfile.Lines(data, func(n int, line []byte) error {
		f := procfile.Fields(line, buf[:0])
		if len(f) == 0 || !bytes.Equal(f[0], sockKey) {
			return nil
		}
		if len(f) != 2 {
			return procfile.LineErr(path, n, "want \"sock BYTES\", got %d fields", len(f))
		}
		var err error
		v, err = procfile.Atoi(f[1])
		if err != nil || v < 0 {
			return procfile.LineErr(path, n, "sock: %q is not a byte count", f[1])
		}
		found = true
		return nil
	})
	return v, found, err
}
