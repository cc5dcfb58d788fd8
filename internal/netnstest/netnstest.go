// Package netnstest holds known socket populations in private network
// namespaces for the live tests of the Telegraf input and the check: helper
// processes that are the test binary itself, re-executed under unshare. A
// test package dispatches them by calling Main from an init function, before
// its tests run.
package netnstest

import (
	"bufio"
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
	UnixPairs int // socketpairs: 2 UNIX sockets each
	UDP       int // bound UDP sockets
	TCPConns  int // loopback connections to one listener: 2 sockets each, plus the listener
}

// SocketsUsed is the namespace's sockstat "sockets: used" once p is open.
func (p Population) SocketsUsed() int64 { return int64(2*p.UnixPairs+p.UDP) + p.TCPInUse() }

// TCPInUse is sockstat's "TCP: inuse".
func (p Population) TCPInUse() int64 {
	if p.TCPConns == 0 {
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
	fail(json.Unmarshal([]byte(spec), &p))
	keep := open(p)
	if argv := os.Getenv(commandEnv); argv != "" {
		runCommand(argv)
	} else {
		os.Stdout.WriteString("ready\n")
		io.Copy(io.Discard, os.Stdin)
	}
	runtime.KeepAlive(keep)
	os.Exit(0)
}

func fail(err error) {
	if err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(2)
	}
}

// open opens p's sockets in a quiet namespace and returns them once the
// kernel shows them.
func open(p Population) []any {
	// "ip link set lo up" leaves its netlink socket to be freed after an
	// RCU grace period: wait for the namespace to be quiet first.
	fail(waitSocketsUsed(0))
	var keep []any
	for range p.UnixPairs {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
		fail(err)
		keep = append(keep, fds)
	}
	for range p.UDP {
		u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		fail(err)
		keep = append(keep, u)
	}
	if p.TCPConns > 0 {
		var lc net.ListenConfig
		lc.SetMultipathTCP(false) // Go listens with MPTCP by default
		l, err := lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
		fail(err)
		keep = append(keep, l)
		for range p.TCPConns {
			c, err := net.Dial("tcp4", l.Addr().String())
			fail(err)
			a, err := l.Accept()
			fail(err)
			keep = append(keep, c, a)
		}
	}
	fail(waitSocketsUsed(p.SocketsUsed()))
	return keep
}

// waitSocketsUsed waits up to 5 s for this process's namespace to show want
// sockets used.
func waitSocketsUsed(want int64) error {
	var got int64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		data, err := os.ReadFile("/proc/self/net/sockstat")
		if err != nil {
			return err
		}
		line, _, _ := bytes.Cut(data, []byte("\n"))
		if _, err := fmt.Sscanf(string(line), "sockets: used %d", &got); err != nil {
			return fmt.Errorf("sockstat: %q: %v", line, err)
		}
		if got == want {
			return nil
		}
	}
	return fmt.Errorf("the namespace did not settle at %d sockets used: %d", want, got)
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
	fail(json.Unmarshal([]byte(spec), &argv))
	link, err := os.Readlink("/proc/self/ns/net")
	fail(err)
	var r Ran
	_, err = fmt.Sscanf(link, "net:[%d]", &r.Inode)
	fail(err)
	var stdout, stderr strings.Builder
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.Code = exit.ExitCode()
	} else {
		fail(err)
	}
	r.Stdout, r.Stderr = stdout.String(), stderr.String()
	fail(json.NewEncoder(os.Stdout).Encode(r))
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
	stdin, err := cmd.StdinPipe()
	require.NoError(tb, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(tb, err)
	require.NoError(tb, cmd.Start(), "unshare (util-linux) is needed")
	tb.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(tb, err)
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
