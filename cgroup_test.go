package sockwatch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
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

	"github.com/sockwatch/sockwatch/internal/netnstest"
	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

func TestCgroupSocketsFixture(t *testing.T) {
	root := filepath.Join("testdata", "cgroup-v2")
	all, err := ReadCgroupSockets(root, 0)
	require.NoError(t, err)
	// memory.stat counts descendants: each cgroup is ranked by what is its
	// own. The root, user.slice and user-1000.slice hold nothing of their
	// own, cron and init.scope nothing at all; kubepods.slice has no memory
	// controller.
	require.Equal(t, []CgroupSock{
		{Path: "/system.slice/nginx.service", Bytes: 1048576, OwnBytes: 1048576},
		{Path: "/user.slice/user-1000.slice/session-3.scope", Bytes: 73728, OwnBytes: 73728},
		{Path: "/system.slice/php-fpm.service", Bytes: 65536, OwnBytes: 65536},
		{Path: "/system.slice/odd name.scope", Bytes: 8192, OwnBytes: 8192},
		{Path: "/system.slice", Bytes: 1126400, OwnBytes: 1126400 - 1048576 - 65536 - 8192},
	}, all)
	var own int64
	for _, c := range all {
		own += c.OwnBytes
	}
	require.Equal(t, int64(1200128), own, "every byte is someone's own, once")

	top, err := ReadCgroupSockets(root, 2)
	require.NoError(t, err)
	require.Equal(t, all[:2], top)
}

func TestCgroupSocketsWithoutSock(t *testing.T) {
	// systemd's hybrid layout, as on this machine: the memory controller
	// is bound to a v1 hierarchy, whose memory.stat has no sock line.
	t.Setenv("HOST_SYS", filepath.Join("testdata", "cgroup-hybrid"))
	root := CgroupRoot("")
	require.Equal(t, filepath.Join("testdata", "cgroup-hybrid", "fs", "cgroup", "unified"), root)
	for _, root := range []string{root, filepath.Dir(root)} {
		_, err := ReadCgroupSockets(root, 10)
		require.ErrorIs(t, err, ErrNoCgroupSock, root)
		require.ErrorContains(t, err, root)
	}

	_, err := ReadCgroupSockets(filepath.Join("testdata", "no-such-cgroup"), 10)
	require.True(t, IsNotExist(err), "%v", err)
}

func TestCgroupSocketsMalformed(t *testing.T) {
	_, err := ReadCgroupSockets(filepath.Join("testdata", "cgroup-malformed"), 10)
	require.EqualError(t, err, filepath.Join("testdata", "cgroup-malformed", "bad.service", "memory.stat")+
		`:8: sock: "12x" is not a byte count`)
}

func TestCgroupRoot(t *testing.T) {
	t.Setenv("HOST_SYS", "")
	require.Equal(t, "/x/cg", CgroupRoot("/x//cg/"))
	t.Setenv("HOST_SYS", filepath.Join("testdata", "no-such-sys"))
	require.Equal(t, filepath.Join("testdata", "no-such-sys", "fs", "cgroup"), CgroupRoot(""))
	t.Setenv("HOST_SYS", filepath.Join("testdata", "cgroup-v2", ".."))
	require.Equal(t, filepath.Join("testdata", "fs", "cgroup"), CgroupRoot(""), "HOST_SYS/fs/cgroup, cleaned")
}

// cgroupSockHelperEnv marks the re-executed test binary that fills the
// buffers of one loopback TCP connection for TestLiveCgroupSockets.
const cgroupSockHelperEnv = "SOCKWATCH_TEST_CGROUP_SOCK"

func init() {
	if os.Getenv(cgroupSockHelperEnv) != "" {
		fillSocketBuffers()
		os.Exit(0)
	}
}

// fillSocketBuffers writes to a loopback connection that nobody reads until
// the send and receive buffers are full, prints how many bytes it wrote and
// holds them until its stdin closes.
func fillSocketBuffers() {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	l, err := lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
	netnstest.Fail(err)
	c, err := net.Dial("tcp4", l.Addr().String())
	netnstest.Fail(err)
	a, err := l.Accept()
	netnstest.Fail(err)
	netnstest.Fail(c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond)))
	written, err := c.Write(make([]byte, 64<<20))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		netnstest.Fail(errors.New("64 MiB fit in the buffers of one connection"))
	}
	os.Stdout.WriteString(strconv.Itoa(written) + "\n")
	bufio.NewReader(os.Stdin).ReadString('\n')
	runtime.KeepAlive([]any{l, c, a})
}

// TestLiveCgroupSockets reads this host's cgroup2 mount. Where the memory
// controller is in cgroup v2, a helper started in a new cgroup fills the
// buffers of a connection, and the cgroup must show them. Where it is not
// (systemd's hybrid layout, as on the development VM, or a v1 host), there
// is no sock figure to read, and the reader must say so.
func TestLiveCgroupSockets(t *testing.T) {
	require.Equal(t, 0, os.Geteuid(), "this test creates a cgroup and needs root")
	t.Setenv("HOST_SYS", "")
	root := CgroupRoot("")
	controllers, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	require.NoError(t, err, "no cgroup2 mount at %s", root)
	if !strings.Contains(" "+strings.TrimSpace(string(controllers))+" ", " memory ") {
		_, err := ReadCgroupSockets(root, 10)
		require.ErrorIs(t, err, ErrNoCgroupSock, "cgroup2 at %s has no memory controller", root)
		return
	}

	subtree := filepath.Join(root, "cgroup.subtree_control")
	if !strings.Contains(" "+strings.TrimSpace(string(mustRead(t, subtree)))+" ", " memory ") {
		require.NoError(t, os.WriteFile(subtree, []byte("+memory"), 0), "enabling the memory controller below %s", root)
	}
	name := "sockwatch-test-" + strconv.Itoa(os.Getpid())
	dir := filepath.Join(root, name)
	require.NoError(t, os.Mkdir(dir, 0o755))
	t.Cleanup(func() {
		// The cgroup empties once the helper's exit is reaped.
		for range 50 {
			if err := os.Remove(dir); err == nil || IsNotExist(err) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("cgroup %s left behind", dir)
	})
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	require.NoError(t, err)
	defer syscall.Close(fd)

	// Started straight into the cgroup: a socket's memory is charged to
	// the cgroup its creator was in then.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), cgroupSockHelperEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	cmd.Stderr = os.Stderr
	line := testenv.Start(t, cmd)
	written, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	require.NoError(t, err, "the helper said %q", line)
	require.Greater(t, written, int64(1<<20))

	all, err := ReadCgroupSockets(root, 0)
	require.NoError(t, err)
	var got *CgroupSock
	for i := range all {
		if all[i].Path == "/"+name {
			got = &all[i]
		}
	}
	require.NotNil(t, got, "/%s not among %+v", name, all)
	require.Equal(t, got.Bytes, got.OwnBytes, "a leaf")
	// Every byte written sits in a send or receive queue, charged by the
	// page with its overhead; the per-CPU batches of the memory statistics
	// may still hold up to a few hundred KiB of it.
	require.Greater(t, got.Bytes, written/2)
}

func FuzzMemoryStat(f *testing.F) {
	seed(f, "memory.stat")
	f.Fuzz(func(t *testing.T, data []byte) {
		v, ok, err := parseSockLine("memory.stat", data)
		if err != nil {
			checkErr(t, "memory.stat", data, err)
			return
		}
		if ok && !bytes.Contains(data, []byte("sock")) {
			t.Fatal("a sock figure without a sock line")
		}
		if v < 0 || (!ok && v != 0) {
			t.Fatalf("sock %d, found %v", v, ok)
		}
	})
}
