package sockwatch

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/sockwatch/sockwatch/internal/procfile"
	"github.com/sockwatch/sockwatch/internal/testenv"
)

func TestParseDNSInodes(t *testing.T) {
	var got []uint64
	for _, name := range []string{"udp", "udp6"} {
		require.NoError(t, readDNSInodes(filepath.Join("testdata/owners-udp", name), func(i uint64) { got = append(got, i) }))
	}
	require.Equal(t, []uint64{5001, 5002, 6001}, got)
}

func TestParseDNSInodesErrors(t *testing.T) {
	const head = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
	for _, tc := range []struct{ name, data, want string }{
		{"empty", "", "udp: empty"},
		{"no header", "    1: 0100007F:ADBB 3500007F:0035 01\n", "udp:1: no header"},
		{"short row", head + "    1: 0100007F:ADBB 3500007F:0035 01\n", "udp:2: want at least 10 fields, got 4"},
		{"no port", head + "    1: 0100007F:ADBB 3500007F 01 0:0 0:0 0 0 0 77 2 0 0\n", "udp:2: rem_address"},
		{"bad inode", head + "    1: 0100007F:ADBB 3500007F:0035 01 0:0 0:0 0 0 0 x7 2 0 0\n", "udp:2: inode \"x7\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := parseDNSInodes("udp", strings.NewReader(tc.data), func(uint64) {})
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestReadUsers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	require.NoError(t, os.WriteFile(path, []byte("# comment\nroot:x:0:0:root:/root:/bin/sh\n+nis\n"+
		"www-data:x:33:33::/var/www:/usr/sbin/nologin\nshadow33:x:33:33::/:/bin/false\nbad:x:-1:0::/:\n"), 0o644))
	u, err := readUsers(path)
	require.NoError(t, err)
	require.Equal(t, "root", u.name(0))
	require.Equal(t, "www-data", u.name(33), "the first entry of a uid wins")
	require.Equal(t, "4242", u.name(4242))

	u, err = readUsers(filepath.Join(t.TempDir(), "missing"))
	require.NoError(t, err, "a missing passwd file shows uids")
	require.Equal(t, "0", u.name(0))
}

// The live tests start copies of the test binary as helpers, selected by
// SOCKWATCH_TEST_HELPER, that name themselves and hold known sockets.
func init() {
	mode := os.Getenv("SOCKWATCH_TEST_HELPER")
	if mode == "" {
		return
	}
	if err := ownerHelper(mode); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func ownerHelper(mode string) error {
	// init runs on the main thread, whose name /proc/PID/comm shows.
	runtime.LockOSThread()
	name := append([]byte(os.Getenv("HELPER_NAME")), 0)
	if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&name[0])), 0, 0, 0); err != nil {
		return fmt.Errorf("PR_SET_NAME: %w", err)
	}
	n, _ := strconv.Atoi(os.Getenv("HELPER_N"))
	var keep []any
	switch mode {
	case "unix":
		// A path holding a NUL, which no environment variable may, is
		// passed quoted.
		path := os.Getenv("HELPER_PATH")
		if p, err := strconv.Unquote(path); err == nil {
			path = p
		}
		ln, err := net.Listen("unix", path)
		if err != nil {
			return err
		}
		keep = append(keep, ln)
		for range n {
			// Not ln.Addr(), which ends an abstract name at its first NUL.
			c, err := net.Dial("unix", path)
			if err != nil {
				return err
			}
			a, err := ln.Accept()
			if err != nil {
				return err
			}
			keep = append(keep, c, a)
		}
	case "connect":
		for range n {
			c, err := net.Dial("unix", os.Getenv("HELPER_PATH"))
			if err != nil {
				return err
			}
			keep = append(keep, c)
		}
	case "dns":
		fds, err := dnsHelperSockets(n)
		if err != nil {
			return err
		}
		keep = append(keep, fds)
	case "families":
		fds, err := familySockets()
		if err != nil {
			return err
		}
		keep = append(keep, fds)
	case "reuse":
		// Descriptor HELPER_N keeps being closed and reused, by a UDP
		// socket or a pipe, while a UNIX socketpair is held.
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		keep = append(keep, pair)
		go reuseDescriptor(n)
	case "scan":
		o, err := ScanOwners(ProcRoot(""), OwnerOptions{})
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(map[string]any{
			"not_inspected": o.NotInspected, "errors": len(o.Errors), "processes": o.Processes, "via": o.Via,
		})
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	fmt.Println("ready")
	// Held until the test kills it; reading stdin keeps keep alive.
	os.Stdin.Read(make([]byte, 1))
	runtime.KeepAlive(keep)
	return nil
}

// dnsHelperSockets runs in a private network namespace, or in the host's
// with lo up: it brings lo up if down and opens n UDP sockets connected to 127.0.0.53:53, one UDPv6 socket connected
// to [::1]:53, two UDP sockets bound elsewhere, a TCP listener, a netlink, a
// raw and a packet socket.
func dnsHelperSockets(n int) ([]int, error) {
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return nil, err
	}
	ctl, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.IoctlIfreq(ctl, unix.SIOCGIFFLAGS, ifr); err != nil {
		return nil, err
	}
	if ifr.Uint16()&unix.IFF_UP == 0 {
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		if err := unix.IoctlIfreq(ctl, unix.SIOCSIFFLAGS, ifr); err != nil {
			return nil, fmt.Errorf("lo up: %w", err)
		}
	}
	unix.Close(ctl)

	var fds []int
	open := func(family, typ, proto int, setup func(fd int) error) error {
		fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return err
		}
		fds = append(fds, fd)
		if setup == nil {
			return nil
		}
		return setup(fd)
	}
	dns4 := &unix.SockaddrInet4{Port: 53, Addr: [4]byte{127, 0, 0, 53}}
	for range n {
		if err := open(unix.AF_INET, unix.SOCK_DGRAM, 0, func(fd int) error { return unix.Connect(fd, dns4) }); err != nil {
			return nil, fmt.Errorf("udp to 127.0.0.53:53: %w", err)
		}
	}
	dns6 := &unix.SockaddrInet6{Port: 53, Addr: [16]byte{15: 1}}
	if err := open(unix.AF_INET6, unix.SOCK_DGRAM, 0, func(fd int) error { return unix.Connect(fd, dns6) }); err != nil {
		return nil, fmt.Errorf("udp6 to [::1]:53: %w", err)
	}
	lo := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	for range 2 {
		if err := open(unix.AF_INET, unix.SOCK_DGRAM, 0, func(fd int) error { return unix.Bind(fd, lo) }); err != nil {
			return nil, err
		}
	}
	if err := open(unix.AF_INET, unix.SOCK_STREAM, 0, func(fd int) error {
		if err := unix.Bind(fd, lo); err != nil {
			return err
		}
		return unix.Listen(fd, 1)
	}); err != nil {
		return nil, err
	}
	if err := open(unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE, nil); err != nil {
		return nil, err
	}
	if err := open(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP, nil); err != nil {
		return nil, err
	}
	if err := open(unix.AF_PACKET, unix.SOCK_DGRAM, 0, nil); err != nil {
		return nil, err
	}
	return fds, nil
}

// helperExe returns the test binary at a path other users may execute: go
// test builds it in a directory only root can enter.
func helperExe(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	dir, err := os.MkdirTemp("", "sockwatch-helper-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	dst := filepath.Join(dir, "helper")
	if os.Link(exe, dst) != nil {
		data, err := os.ReadFile(exe)
		require.NoError(t, err)
		require.NoError(t, testenv.WriteExecutable(dst, data, 0o755))
	}
	return dst
}

// startHelper starts a helper and waits until it holds its sockets.
func startHelper(t *testing.T, exe, mode, name string, env []string, attr *syscall.SysProcAttr) {
	t.Helper()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), append(env, "SOCKWATCH_TEST_HELPER="+mode, "HELPER_NAME="+name)...)
	cmd.SysProcAttr = attr
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		require.Equal(t, "ready\n", line, "helper %s %q: %s", mode, name, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("helper %s %q not ready after 20s: %s", mode, name, stderr.String())
	}
}

// TestScanOwnersLive starts helpers with known names, users and sockets and
// checks that ScanOwners counts exactly those. They run as a user ID of their
// own, so that nothing else on the host, a concurrent run of this test
// included, falls into their owners.
func TestScanOwnersLive(t *testing.T) {
	require.Equal(t, 0, os.Getuid(), "the live owner test runs as root: it starts processes as other users and in private network namespaces")
	uid := 200000 + os.Getpid()%100000
	user := "www-" + strconv.Itoa(uid)
	passwd := filepath.Join(t.TempDir(), "passwd")
	require.NoError(t, os.WriteFile(passwd, []byte(fmt.Sprintf("root:x:0:0::/root:/bin/sh\n%s:x:%d:%d::/:/bin/false\n", user, uid, uid)), 0o644))
	// A socket path must fit in 108 bytes, and be writable by the helpers.
	dir, err := os.MkdirTemp("", "sockwatch-owners-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o777))
	as := func() *syscall.SysProcAttr {
		return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}

	exe := helperExe(t)
	fpmPath := filepath.Join(dir, "php fpm\n'x'=1.sock")
	secondPath := filepath.Join(dir, "second.sock")
	startHelper(t, exe, "unix", "php-fpm", []string{"HELPER_PATH=" + fpmPath, "HELPER_N=5"}, as())
	startHelper(t, exe, "unix", "php-fpm", []string{"HELPER_PATH=" + secondPath, "HELPER_N=2"}, as())
	hostile := "x'=1;2 |"
	netns := as()
	netns.Cloneflags = syscall.CLONE_NEWNET
	netns.AmbientCaps = []uintptr{unix.CAP_NET_ADMIN, unix.CAP_NET_RAW}
	startHelper(t, exe, "dns", hostile, []string{"HELPER_N=3"}, netns)

	o, err := ScanOwners(ProcRoot(""), OwnerOptions{PasswdFile: passwd})
	require.NoError(t, err)
	require.Empty(t, o.Errors)
	require.LessOrEqual(t, o.NotInspected, unptraceable(t), "root inspects every process it may ptrace")

	owners := make(map[string]Owner)
	for _, w := range o.ByProcess {
		if w.User == user {
			owners[w.Name] = w
		}
	}
	require.Equal(t, map[string]Owner{
		// Each helper holds its listener, the clients and the accepted ends.
		"php-fpm": {Name: "php-fpm", User: user, Sockets: 16, Unix: 16, Processes: 2},
		hostile: {Name: hostile, User: user, Sockets: 10, UDP: 6, DNS: 4, TCP: 1, Netlink: 1, Raw: 1, Other: 1,
			Processes: 1},
	}, owners)
	require.GreaterOrEqual(t, o.DNSSockets.Value, int64(4))
	require.True(t, o.DNSSockets.Known)

	paths := make(map[string]int64)
	for _, p := range o.UnixPaths {
		if strings.HasPrefix(p.Path, dir) {
			paths[p.Path] = p.Sockets
		}
	}
	require.Equal(t, map[string]int64{fpmPath: 6, secondPath: 3}, paths, "a listener and its accepted connections")

	top, err := ScanOwners(ProcRoot(""), OwnerOptions{Top: 1, PasswdFile: passwd})
	require.NoError(t, err)
	require.Len(t, top.ByProcess, 1)
	require.Len(t, top.UnixPaths, 1)
	require.GreaterOrEqual(t, top.Owners, 2)
}

// TestScanOwnersSockDiag scans the same helpers with the sock_diag dump and
// without it: the dump classifies the sockets of the scanner's namespace
// (helpers in it, DNS sockets included), the attribute and the udp tables
// the rest (a helper in a namespace of its own, and the sockets no dump
// lists: an unbound netlink socket, a packet socket), and both ways count
// the same.
func TestScanOwnersSockDiag(t *testing.T) {
	require.Equal(t, 0, os.Getuid(), "the test runs as root: it starts processes as another user and in a private network namespace")
	uid := 300000 + os.Getpid()%100000
	user := "diag-" + strconv.Itoa(uid)
	passwd := filepath.Join(t.TempDir(), "passwd")
	require.NoError(t, os.WriteFile(passwd, []byte(fmt.Sprintf("%s:x:%d:%d::/:/bin/false\n", user, uid, uid)), 0o644))
	dir, err := os.MkdirTemp("", "sockwatch-diag-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o777))
	as := func(cloneflags uintptr) *syscall.SysProcAttr {
		return &syscall.SysProcAttr{
			Credential:  &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)},
			Cloneflags:  cloneflags,
			AmbientCaps: []uintptr{unix.CAP_NET_ADMIN, unix.CAP_NET_RAW},
		}
	}
	exe := helperExe(t)
	startHelper(t, exe, "unix", "diag-unix", []string{"HELPER_PATH=" + filepath.Join(dir, "l.sock"), "HELPER_N=5"}, as(0))
	startHelper(t, exe, "dns", "diag-here", []string{"HELPER_N=3"}, as(0))
	startHelper(t, exe, "dns", "diag-netns", []string{"HELPER_N=2"}, as(syscall.CLONE_NEWNET))

	scan := func(noSockDiag bool) (*Owners, map[string]Owner) {
		o, err := ScanOwners(ProcRoot(""), OwnerOptions{PasswdFile: passwd, NoIterator: true, noSockDiag: noSockDiag})
		require.NoError(t, err)
		require.Empty(t, o.Errors)
		require.True(t, o.DNSSockets.Known)
		owners := make(map[string]Owner)
		for _, w := range o.ByProcess {
			if w.User == user {
				owners[w.Name] = w
			}
		}
		return o, owners
	}
	fast, fastOwners := scan(false)
	slow, slowOwners := scan(true)
	require.Equal(t, map[string]Owner{
		"diag-unix": {Name: "diag-unix", User: user, Sockets: 11, Unix: 11, Processes: 1},
		"diag-here": {Name: "diag-here", User: user, Sockets: 10, UDP: 6, DNS: 4, TCP: 1, Netlink: 1, Raw: 1,
			Other: 1, Processes: 1},
		"diag-netns": {Name: "diag-netns", User: user, Sockets: 9, UDP: 5, DNS: 3, TCP: 1, Netlink: 1, Raw: 1,
			Other: 1, Processes: 1},
	}, fastOwners)
	require.Equal(t, fastOwners, slowOwners)
	// The unix helper's 11, and of diag-here's the 6 UDP sockets and the TCP
	// listener (its raw socket too where the kernel has raw_diag).
	require.GreaterOrEqual(t, fast.viaDiag, int64(11+6+1))
	require.Zero(t, slow.viaDiag)
	require.GreaterOrEqual(t, fast.DNSSockets.Value, int64(4+3))
	require.GreaterOrEqual(t, slow.DNSSockets.Value, int64(4+3))
}

// TestScanOwnersUnprivileged scans as nobody: the processes of other users
// cannot be inspected, which is counted, not an error.
func TestScanOwnersUnprivileged(t *testing.T) {
	require.Equal(t, 0, os.Getuid(), "the test runs as root, to scan as nobody")
	cmd := exec.Command(helperExe(t))
	cmd.Env = append(os.Environ(), "SOCKWATCH_TEST_HELPER=scan", "HELPER_NAME=scan")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	require.NoError(t, err, "%s", out)
	var got struct {
		NotInspected int    `json:"not_inspected"`
		Errors       int    `json:"errors"`
		Via          string `json:"via"`
	}
	require.NoError(t, json.Unmarshal(out, &got))
	require.Positive(t, got.NotInspected, "PID 1 at least belongs to root")
	require.Zero(t, got.Errors)
	require.Equal(t, ViaProcFD, got.Via, "nobody may not load the iterator: the scan falls back")
}

// unptraceable counts the processes whose descriptors this process may not
// read even as root: a sandbox's init, or a process with capabilities
// beyond ours. The scan must count them as not inspected.
func unptraceable(t *testing.T) int {
	t.Helper()
	pids, err := procfile.ListPids("/proc")
	require.NoError(t, err)
	n := 0
	for _, pid := range pids {
		fds, err := os.ReadDir("/proc/" + pid + "/fd")
		if err != nil {
			if procfile.Denied(err) {
				n++
			}
			continue
		}
		for _, fd := range fds {
			if _, err := os.Readlink("/proc/" + pid + "/fd/" + fd.Name()); procfile.Denied(err) {
				n++
				break
			}
		}
	}
	return n
}
