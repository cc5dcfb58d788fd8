package sockwatch

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/sockwatch/sockwatch/bpf"
	"github.com/sockwatch/sockwatch/internal/procfile"
)

// requireIterator fails unless the task_file iterator loads: as root on
// Linux 5.16+ with kernel BTF, which CI has.
func requireIterator(t *testing.T) {
	t.Helper()
	require.Equal(t, 0, os.Geteuid(), "the iterator is loaded as root")
	_, err := iteratorFor(ProcRoot(""))
	require.NoError(t, err, "the task_file iterator must load here (root, kernel BTF, Linux 5.16+)")
}

// familySockets brings lo up (in the helper's own network namespace) and
// opens sockets of every family and class the owner scan tells apart; see
// familiesOwner for what they count as.
func familySockets() ([]int, error) {
	fds, err := dnsHelperSockets(2)
	if err != nil {
		return nil, err
	}
	// Ping sockets are allowed by the namespace's own ping_group_range.
	if err := os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("0 2147483647"), 0); err != nil {
		return nil, err
	}
	dns4 := &unix.SockaddrInet4{Port: 53, Addr: [4]byte{127, 0, 0, 53}}
	for _, s := range []struct {
		family, typ, proto int
		connect            unix.Sockaddr
	}{
		{unix.AF_UNIX, unix.SOCK_STREAM, 0, nil},
		{unix.AF_UNIX, unix.SOCK_DGRAM, 0, nil},
		{unix.AF_UNIX, unix.SOCK_SEQPACKET, 0, nil},
		{unix.AF_INET6, unix.SOCK_STREAM, 0, nil},
		// UDP-Lite to port 53 counts as UDP, never as DNS.
		{unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_UDPLITE, dns4},
		{unix.AF_INET6, unix.SOCK_DGRAM, unix.IPPROTO_UDPLITE, nil},
		{unix.AF_INET6, unix.SOCK_RAW, unix.IPPROTO_ICMPV6, nil},
		{unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_GENERIC, nil},
		{unix.AF_PACKET, unix.SOCK_RAW, 0, nil},
		{unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_ICMP, nil},
		{unix.AF_INET6, unix.SOCK_DGRAM, unix.IPPROTO_ICMPV6, nil},
	} {
		fd, err := unix.Socket(s.family, s.typ|unix.SOCK_CLOEXEC, s.proto)
		if err != nil {
			return nil, fmt.Errorf("socket(%d, %d, %d): %w", s.family, s.typ, s.proto, err)
		}
		fds = append(fds, fd)
		if s.connect != nil {
			if err := unix.Connect(fd, s.connect); err != nil {
				return nil, err
			}
		}
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return append(fds, pair[0], pair[1]), nil
}

// familiesOwner is what the families helper holds: dnsHelperSockets(2)'s
// 9 (3 of its UDP sockets connected to port 53) and familySockets' 13
// (other: the packet socket and two ping sockets).
func familiesOwner(name, user string) Owner {
	return Owner{Name: name, User: user, Sockets: 22, Unix: 5, TCP: 2, UDP: 7, DNS: 3, Raw: 2, Netlink: 2, Other: 4,
		Processes: 1}
}

// reuseDescriptor keeps closing descriptor fd and opening it again, as a
// UDP socket or as a pipe.
func reuseDescriptor(fd int) {
	for i := 0; ; i++ {
		var r, w int
		if i%2 == 0 {
			s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				continue
			}
			r, w = s, -1
		} else {
			var p [2]int
			if unix.Pipe2(p[:], unix.O_CLOEXEC) != nil {
				continue
			}
			r, w = p[0], p[1]
		}
		unix.Dup3(r, fd, unix.O_CLOEXEC)
		unix.Close(r)
		if w >= 0 {
			unix.Close(w)
		}
	}
}

// TestScanOwnersIteratorMatchesProc starts helpers holding sockets of every
// family, UNIX paths with newlines, quotes, bytes that are not UTF-8, an
// abstract name holding a NUL, clients connected from another process, and
// scans them both ways: the iterator and /proc/PID/fd must count the same.
func TestScanOwnersIteratorMatchesProc(t *testing.T) {
	requireIterator(t)
	// Names of this run only (comm holds 15 bytes).
	prefix := "i" + strconv.Itoa(os.Getpid()%1000000) + "-"
	dir, err := os.MkdirTemp("", "sockwatch-iter-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	fpm := filepath.Join(dir, "php fpm\n'x'=1.sock")
	badUTF8 := filepath.Join(dir, "\xff\xfe bad\tutf8\x01.sock")
	abstract := "@sockwatch-" + prefix + "\x00nul\nnewline"
	// As the unix table prints it, and so the scan names it.
	abstractShown := strings.ReplaceAll(abstract, "\x00", "@")

	exe := helperExe(t)
	root := func() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
	startHelper(t, exe, "unix", prefix+"fpm", []string{"HELPER_PATH=" + fpm, "HELPER_N=5"}, root())
	startHelper(t, exe, "connect", prefix+"cli", []string{"HELPER_PATH=" + fpm, "HELPER_N=4"}, root())
	startHelper(t, exe, "unix", prefix+"bad", []string{"HELPER_PATH=" + badUTF8, "HELPER_N=2"}, root())
	startHelper(t, exe, "unix", prefix+"abs", []string{"HELPER_PATH=" + strconv.Quote(abstract), "HELPER_N=3"}, root())
	startHelper(t, exe, "dns", prefix+"dns", []string{"HELPER_N=3"}, root())
	startHelper(t, exe, "families", prefix+"fam", nil, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET})

	scan := func(noIterator bool) (*Owners, map[string]Owner, map[string]UnixPath) {
		o, err := ScanOwners(ProcRoot(""), OwnerOptions{NoIterator: noIterator})
		require.NoError(t, err)
		require.Empty(t, o.Errors)
		owners := make(map[string]Owner)
		for _, w := range o.ByProcess {
			if strings.HasPrefix(w.Name, prefix) {
				owners[w.Name] = w
			}
		}
		paths := make(map[string]UnixPath)
		for _, p := range o.UnixPaths {
			if p.Path == fpm || p.Path == badUTF8 || p.Path == abstractShown {
				paths[p.Path] = p
			}
		}
		return o, owners, paths
	}
	fast, fastOwners, fastPaths := scan(false)
	slow, slowOwners, slowPaths := scan(true)
	require.Equal(t, ViaTaskFiles, fast.Via)
	require.NoError(t, fast.IteratorErr)
	require.Equal(t, ViaProcFD, slow.Via)
	require.Zero(t, fast.NotInspected, "the iterator sees every process's descriptors")

	unixOwner := func(name string, n int64) Owner {
		return Owner{Name: prefix + name, User: "root", Sockets: 2*n + 1, Unix: 2*n + 1, Processes: 1}
	}
	want := map[string]Owner{
		prefix + "fpm": unixOwner("fpm", 5),
		prefix + "cli": {Name: prefix + "cli", User: "root", Sockets: 4, Unix: 4, Processes: 1},
		prefix + "bad": unixOwner("bad", 2),
		prefix + "abs": unixOwner("abs", 3),
		prefix + "dns": {Name: prefix + "dns", User: "root", Sockets: 10, UDP: 6, DNS: 4, TCP: 1, Netlink: 1, Raw: 1,
			Other: 1, Processes: 1},
		prefix + "fam": familiesOwner(prefix+"fam", "root"),
	}
	require.Equal(t, want, fastOwners)
	require.Equal(t, fastOwners, slowOwners, "both ways count the same")

	// A listener and its connections share the path (the cli helper's 4 wait
	// in the listener's backlog, not accepted); the clients' descriptors
	// hold it through their peer.
	require.Equal(t, map[string]UnixPath{
		fpm: {Path: fpm, Sockets: 1 + 5 + 4, Holders: []Holder{
			{Name: prefix + "fpm", User: "root", Sockets: 1 + 5 + 5},
			{Name: prefix + "cli", User: "root", Sockets: 4},
		}},
		badUTF8:       {Path: badUTF8, Sockets: 3, Holders: []Holder{{Name: prefix + "bad", User: "root", Sockets: 5}}},
		abstractShown: {Path: abstractShown, Sockets: 4, Holders: []Holder{{Name: prefix + "abs", User: "root", Sockets: 7}}},
	}, fastPaths)
	for p, up := range slowPaths {
		require.Nil(t, up.Holders, "the /proc scan cannot tell the holders of %q", p)
		up.Holders = fastPaths[p].Holders
		require.Equal(t, fastPaths[p], up)
	}
	require.Len(t, slowPaths, 3)
}

// TestScanOwnersCapBPF scans as nobody with CAP_BPF and CAP_PERFMON only:
// enough to load the iterator, which sees every process's descriptors, where
// the /proc scan would need CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH.
func TestScanOwnersCapBPF(t *testing.T) {
	requireIterator(t)
	exe := helperExe(t)
	// A process of root's, whose descriptors nobody may not read.
	startHelper(t, exe, "dns", "c"+strconv.Itoa(os.Getpid()%1000000)+"-root", []string{"HELPER_N=1"}, &syscall.SysProcAttr{})
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "SOCKWATCH_TEST_HELPER=scan", "HELPER_NAME=scan")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential:  &syscall.Credential{Uid: 65534, Gid: 65534},
		AmbientCaps: []uintptr{unix.CAP_BPF, unix.CAP_PERFMON},
	}
	out, err := cmd.Output()
	require.NoError(t, err, "%s", out)
	var got struct {
		NotInspected int    `json:"not_inspected"`
		Errors       int    `json:"errors"`
		Processes    int    `json:"processes"`
		Via          string `json:"via"`
	}
	require.NoError(t, json.Unmarshal(out, &got))
	require.Equal(t, ViaTaskFiles, got.Via)
	require.Zero(t, got.NotInspected, "the iterator sees every process")
	require.Zero(t, got.Errors)
	require.Positive(t, got.Processes, "root's helper at least")
}

// TestScanOwnersIteratorFails hands the scan an iterator that fails midway,
// as a read of the iterator may: the scan falls back to /proc, whole, and
// says why; nothing of the partial pass is counted.
func TestScanOwnersIteratorFails(t *testing.T) {
	require.Equal(t, 0, os.Geteuid(), "the test compares with the /proc scan of every process, as root")
	prefix := "f" + strconv.Itoa(os.Getpid()%1000000) + "-"
	startHelper(t, helperExe(t), "dns", prefix+"dns", []string{"HELPER_N=2"}, &syscall.SysProcAttr{})
	pid := helperPid(t, prefix+"dns")

	broken := errors.New("read task_file iterator: bad address")
	it := func(found func(*bpf.TaskSocket) error) error {
		for range 3 {
			if err := found(&bpf.TaskSocket{TGID: uint32(pid), Family: unix.AF_INET, Type: unix.SOCK_DGRAM,
				Protocol: unix.IPPROTO_UDP}); err != nil {
				return err
			}
		}
		return broken
	}
	o, err := scanOwners(ProcRoot(""), OwnerOptions{}, it, nil)
	require.NoError(t, err)
	require.Equal(t, ViaProcFD, o.Via)
	require.ErrorIs(t, o.IteratorErr, broken)
	require.Empty(t, o.Errors)
	var got []Owner
	for _, w := range o.ByProcess {
		if w.Name == prefix+"dns" {
			got = append(got, w)
		}
	}
	require.Equal(t, []Owner{{Name: prefix + "dns", User: "root", Sockets: 9, UDP: 5, DNS: 3, TCP: 1, Netlink: 1,
		Raw: 1, Other: 1, Processes: 1}}, got)
}

// TestScanOwnersNotOnIterator: a proc root that is not this PID
// namespace's proc (a captured tree) is scanned through its files.
func TestScanOwnersNotOnIterator(t *testing.T) {
	o, err := ScanOwners(t.TempDir(), OwnerOptions{})
	require.NoError(t, err)
	require.Equal(t, ViaProcFD, o.Via)
	require.ErrorContains(t, o.IteratorErr, "is not the proc of this process's PID namespace")
}

// helperPid finds the process named name.
func helperPid(t *testing.T, name string) int {
	t.Helper()
	pids, err := procfile.ListPids("/proc")
	require.NoError(t, err)
	for _, p := range pids {
		if comm, err := os.ReadFile("/proc/" + p + "/comm"); err == nil && strings.TrimSuffix(string(comm), "\n") == name {
			pid, _ := strconv.Atoi(p)
			return pid
		}
	}
	t.Fatalf("no process %q", name)
	return 0
}

// TestScanOwnersDescriptorReuse scans, both ways, a process whose
// descriptor keeps being closed and reopened as a UDP socket or a pipe:
// each scan sees it as a socket or not, never as something else, and the
// process's other sockets are always counted.
func TestScanOwnersDescriptorReuse(t *testing.T) {
	requireIterator(t)
	name := "r" + strconv.Itoa(os.Getpid()%1000000) + "-reuse"
	startHelper(t, helperExe(t), "reuse", name, []string{"HELPER_N=100"}, &syscall.SysProcAttr{})
	seen := map[int64]int{}
	for i := range 60 {
		o, err := ScanOwners(ProcRoot(""), OwnerOptions{NoIterator: i%2 == 1})
		require.NoError(t, err)
		require.Empty(t, o.Errors)
		var w *Owner
		for j := range o.ByProcess {
			if o.ByProcess[j].Name == name {
				w = &o.ByProcess[j]
			}
		}
		require.NotNil(t, w, "scan %d via %s", i, o.Via)
		require.Equal(t, int64(2), w.Unix, "scan %d via %s: the socketpair", i, o.Via)
		require.Equal(t, w.Sockets, w.Unix+w.UDP, "scan %d via %s", i, o.Via)
		// Two for a moment: the new socket, and its copy at the reused
		// number before the original is closed.
		require.LessOrEqual(t, w.UDP, int64(2), "scan %d via %s", i, o.Via)
		seen[w.UDP]++
	}
	t.Logf("scans seeing the descriptor as a pipe or closed, as a socket: %v", seen)
}

// TestProcessChurnIterator runs the iterator while processes holding
// sockets start and exit mid-iteration: no error, and the processes that
// stay are counted exactly.
func TestProcessChurnIterator(t *testing.T) {
	requireIterator(t)
	exe := helperExe(t)
	// Names of this test process's own: other packages' tests, run at
	// the same time by go test ./..., start processes of their own (bench's
	// churn among them).
	name := "c" + strconv.Itoa(os.Getpid()%1000000) + "-stay"
	churn := "c" + strconv.Itoa(os.Getpid()%1000000) + "-churn"
	startHelper(t, exe, "dns", name, []string{"HELPER_N=3"}, &syscall.SysProcAttr{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	started := 0
	wg.Go(func() {
		dir := t.TempDir()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), "SOCKWATCH_TEST_HELPER=unix", "HELPER_NAME="+churn, "HELPER_N=50",
				"HELPER_PATH="+filepath.Join(dir, strconv.Itoa(i%8)+".sock"))
			if cmd.Start() != nil {
				continue
			}
			started++
			time.Sleep(time.Duration(i%15) * time.Millisecond)
			cmd.Process.Kill()
			cmd.Wait()
			os.Remove(filepath.Join(dir, strconv.Itoa(i%8)+".sock"))
		}
	})
	scans := 0
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); scans++ {
		o, err := ScanOwners(ProcRoot(""), OwnerOptions{})
		require.NoError(t, err)
		require.Equal(t, ViaTaskFiles, o.Via)
		require.Empty(t, o.Errors, "scan %d", scans)
		var stay []Owner
		for _, w := range o.ByProcess {
			if w.Name == name {
				stay = append(stay, w)
			}
			if w.Name == churn {
				// A churn helper has at most its listener, 50 clients
				// and 50 accepted ends.
				require.LessOrEqual(t, w.Sockets, 101*w.Processes, "scan %d", scans)
				require.Equal(t, w.Sockets, w.Unix, "scan %d", scans)
			}
		}
		require.Equal(t, []Owner{{Name: name, User: "root", Sockets: 10, UDP: 6, DNS: 4, TCP: 1, Netlink: 1, Raw: 1,
			Other: 1, Processes: 1}}, stay, "scan %d", scans)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d iterator scans while %d helpers came and went", scans, started)
	require.Greater(t, started, 20)
}
