// Package netnstest holds known socket populations in private network
// namespaces for the live tests of the reader, the Telegraf input and the
// check: helper processes that are the test binary itself, re-executed under
// unshare. A test package dispatches them by calling Main from an init
// function, before its tests run. It imports no sockwatch package, so that
// sockwatch's own tests may use it.
package netnstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

const (
	// populationEnv holds the JSON Population a helper opens.
	populationEnv = "SOCKWATCH_NETNSTEST_POPULATION"
	// commandEnv holds the JSON command a helper runs once its population
	// is open, instead of holding it until its stdin closes.
	commandEnv = "SOCKWATCH_NETNSTEST_COMMAND"
)

// Population is a set of sockets a helper opens in its new namespace.
type Population struct {
	UnixPairs int  // socketpairs: 2 UNIX sockets each
	UDP       int  // bound UDP sockets
	TCPConns  int  // loopback connections to one listener: 2 sockets each, plus the listener
	TCP6      int  // TCPv6 listeners
	TimeWait  int  // connections closed by the client: TIME_WAIT buckets, no sockets
	UDPDrops  bool // flood the first UDP socket, past a tiny receive buffer, from the second
}

// SocketsUsed is the namespace's sockstat "sockets: used" once p is open.
func (p Population) SocketsUsed() int64 { return int64(2*p.UnixPairs+p.UDP+p.TCP6) + p.TCPInUse() }

// TCPInUse is sockstat's "TCP: inuse": the IPv4 listener and connections.
func (p Population) TCPInUse() int64 {
	if p.TCPConns == 0 && p.TimeWait == 0 {
		return 0
	}
	return int64(1 + 2*p.TCPConns)
}

// NumOtherSock is the non-TCP sockets: the UNIX and UDP ones.
func (p Population) NumOtherSock() int64 { return int64(2*p.UnixPairs + p.UDP) }

// Main runs the helper when this process was started as one, and exits;
// otherwise it returns at once. Call it from an init function of the test
// package.
func Main() {
	spec := os.Getenv(populationEnv)
	if spec == "" {
		return
	}
	var p Population
	Fail(json.Unmarshal([]byte(spec), &p))
	keep := Open(p)
	if argv := os.Getenv(commandEnv); argv != "" {
		runCommand(argv)
	} else {
		os.Stdout.WriteString("ready\n")
		io.Copy(io.Discard, os.Stdin)
	}
	runtime.KeepAlive(keep)
	os.Exit(0)
}

// Fail ends a helper process that met err, if not nil: it says "error:" and
// err on stdout, where the test reads, and exits with status 2.
func Fail(err error) {
	if err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(2)
	}
}

// Open opens p's sockets in this process's network namespace, new and
// quiet, and returns them once the kernel shows them settled; the caller
// keeps them alive. It is for helper processes: it ends the process through
// Fail on an error.
func Open(p Population) []any {
	Fail(WaitQuiet())
	var keep []any
	for range p.UnixPairs {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
		Fail(err)
		keep = append(keep, fds)
	}
	var udp []*net.UDPConn
	for range p.UDP {
		u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		Fail(err)
		udp = append(udp, u)
		keep = append(keep, u)
	}
	if p.UDPDrops {
		// The smallest receive buffer the kernel allows holds a couple of
		// datagrams: the rest are counted in Udp RcvbufErrors.
		Fail(udp[0].SetReadBuffer(1))
		for range 100 {
			_, err := udp[1].WriteToUDP(make([]byte, 1000), udp[0].LocalAddr().(*net.UDPAddr))
			Fail(err)
		}
	}
	if p.TCPConns > 0 || p.TimeWait > 0 {
		var lc net.ListenConfig
		lc.SetMultipathTCP(false) // Go listens with MPTCP by default
		l, err := lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
		Fail(err)
		keep = append(keep, l)
		for i := range p.TCPConns + p.TimeWait {
			c, err := net.Dial("tcp4", l.Addr().String())
			Fail(err)
			a, err := l.Accept()
			Fail(err)
			if i < p.TCPConns {
				keep = append(keep, c, a)
				continue
			}
			// The side that closes first keeps the TIME_WAIT bucket.
			c.Close()
			a.Close()
		}
	}
	for range p.TCP6 {
		var lc net.ListenConfig
		lc.SetMultipathTCP(false)
		l, err := lc.Listen(context.Background(), "tcp6", "[::1]:0")
		Fail(err)
		keep = append(keep, l)
	}
	// The closed connections reach TIME_WAIT and leave "sockets: used" as
	// the FINs cross loopback, in softirq: wait for the figures to settle.
	Fail(waitSockstat(p.SocketsUsed(), int64(p.TimeWait)))
	return keep
}

// WaitQuiet waits up to 5 s for this process's network namespace, just
// created, to have no socket in use: "ip link set lo up" leaves its netlink
// socket to be freed after an RCU grace period.
func WaitQuiet() error { return waitSockstat(0, 0) }

// waitSockstat waits up to 5 s for this process's namespace to show used
// sockets used and timeWait TCP connections in TIME_WAIT.
func waitSockstat(used, timeWait int64) error {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		gotUsed, gotTW, err := sockstat()
		if err != nil || gotUsed == used && gotTW == timeWait {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the namespace did not settle at %d sockets used, %d in TIME_WAIT: %d, %d",
				used, timeWait, gotUsed, gotTW)
		}
	}
}

// sockstat reads "sockets: used" and the TCP "tw" figure of this process's
// namespace.
func sockstat() (used, timeWait int64, err error) {
	data, err := os.ReadFile("/proc/self/net/sockstat")
	if err != nil {
		return 0, 0, err
	}
	line, rest, _ := bytes.Cut(data, []byte("\n"))
	if _, err := fmt.Sscanf(string(line), "sockets: used %d", &used); err != nil {
		return 0, 0, fmt.Errorf("sockstat: %q: %v", line, err)
	}
	line, _, _ = bytes.Cut(rest, []byte("\n"))
	var inuse, orphan int64
	if _, err := fmt.Sscanf(string(line), "TCP: inuse %d orphan %d tw %d", &inuse, &orphan, &timeWait); err != nil {
		return 0, 0, fmt.Errorf("sockstat: %q: %v", line, err)
	}
	return used, timeWait, nil
}

// Ran is what a command run by a helper did, as the helper reports it.
type Ran struct {
	Inode          uint64 // the helper's network namespace
	Stdout, Stderr string
	Code           int
}

// runCommand runs the JSON argv, reports it as a Ran on stdout and returns.
func runCommand(spec string) {
	var argv []string
	Fail(json.Unmarshal([]byte(spec), &argv))
	link, err := os.Readlink("/proc/self/ns/net")
	Fail(err)
	var r Ran
	_, err = fmt.Sscanf(link, "net:[%d]", &r.Inode)
	Fail(err)
	var stdout, stderr strings.Builder
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.Code = exit.ExitCode()
	} else {
		Fail(err)
	}
	r.Stdout, r.Stderr = stdout.String(), stderr.String()
	Fail(json.NewEncoder(os.Stdout).Encode(r))
}

// helper is the command that starts this test binary as a helper, under
// unshare with unshareArgs, loopback up.
func helper(ctx context.Context, tb testing.TB, p Population, env []string, unshareArgs ...string) *exec.Cmd {
	tb.Helper()
	spec, err := json.Marshal(p)
	require.NoError(tb, err)
	args := append(unshareArgs, "sh", "-c", `ip link set lo up && exec "$0" -test.run=^$`, os.Args[0])
	cmd := exec.CommandContext(ctx, "unshare", args...)
	cmd.Env = append(os.Environ(), append(env, populationEnv+"="+string(spec))...)
	cmd.Stderr = os.Stderr
	return cmd
}

// Start starts a helper holding p in a new network namespace and returns
// its PID once the sockets are open. The helper ends with the test.
func Start(tb testing.TB, p Population) int {
	tb.Helper()
	cmd := helper(context.Background(), tb, p, nil, "--net")
	line := testenv.Start(tb, cmd)
	require.Equal(tb, "ready\n", line)
	// unshare execs sh, which execs the helper: one process throughout.
	return cmd.Process.Pid
}

// RunInContainer runs argv as a container would: in new network, PID and
// mount namespaces with a proc of their own on /proc (unshare --net --pid
// --fork --mount-proc), next to a helper holding p, PID 1 there. HOST_PROC
// is not passed on.
func RunInContainer(tb testing.TB, p Population, argv ...string) Ran {
	tb.Helper()
	spec, err := json.Marshal(argv)
	require.NoError(tb, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := helper(ctx, tb, p, []string{"HOST_PROC=", commandEnv + "=" + string(spec)},
		"--net", "--pid", "--fork", "--mount-proc")
	out, err := cmd.Output()
	require.NoError(tb, err, "%s", out)
	var r Ran
	require.NoError(tb, json.Unmarshal(out, &r), "the helper said: %s", out)
	return r
}

// Inode is the inode of the network namespace of process pid.
func Inode(tb testing.TB, pid int) uint64 {
	tb.Helper()
	link, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "ns", "net"))
	require.NoError(tb, err)
	var inode uint64
	_, err = fmt.Sscanf(link, "net:[%d]", &inode)
	require.NoError(tb, err, link)
	return inode
}
