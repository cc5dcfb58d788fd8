// Command loadgen starts a known socket load for the owner-scan benchmark:
// -procs processes, each holding -pairs UNIX socketpairs (two sockets each),
// -udp UDP sockets bound to 127.0.0.1 of which -dns are connected to
// 127.0.0.53:53, and one UNIX
// listener bound to a path under -dir with -accepted accepted connections.
//
// Run it inside a private network namespace with lo up (bench/owners.sh does
// `unshare -n`): connecting a UDP socket sends nothing, and nothing of the load
// is visible from, or reaches, the host's namespace.
//
// It prints "ready PROCS SOCKETS" once every child holds its sockets, then
// waits until it is signalled (SIGTERM, SIGINT, SIGHUP) or -timeout passes. The
// children die with it (PR_SET_PDEATHSIG).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

var keep []any

type load struct {
	pairs, udp, dns, accepted int
	dir                       string
}

// sockets is how many sockets one child holds: both ends of each pair, the
// UDP sockets, and the listener with its accepted connections (the client
// ends are closed once accepted).
func (l load) sockets() int { return 2*l.pairs + l.udp + 1 + l.accepted }

func main() {
	var l load
	procs := flag.Int("procs", 110, "processes to start")
	flag.IntVar(&l.pairs, "pairs", 400, "UNIX socketpairs per process")
	flag.IntVar(&l.udp, "udp", 190, "UDP sockets per process")
	flag.IntVar(&l.dns, "dns", 10, "of those, connected to 127.0.0.53:53")
	flag.IntVar(&l.accepted, "accepted", 9, "accepted connections on each process's UNIX listener")
	flag.StringVar(&l.dir, "dir", "", "directory for the listeners' socket files (default: a new temporary one)")
	timeout := flag.Duration("timeout", 10*time.Minute, "exit after this long in any case")
	flag.Parse()

	if os.Getenv("LOADGEN_CHILD") != "" {
		if err := child(l); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen child:", err)
			os.Exit(1)
		}
		return
	}
	if err := parent(*procs, l, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func parent(procs int, l load, timeout time.Duration) error {
	if l.dns > l.udp {
		return fmt.Errorf("-dns %d is more than -udp %d", l.dns, l.udp)
	}
	if err := raiseNoFile(uint64(l.sockets()) + 64); err != nil {
		return err
	}
	if l.dir == "" {
		dir, err := os.MkdirTemp("", "loadgen-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		l.dir = dir
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var cmds []*exec.Cmd
	defer func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
	}()
	ready := make(chan error, procs)
	for i := range procs {
		c := exec.Command(self, os.Args[1:]...)
		c.Args = append(c.Args, "-dir", filepath.Join(l.dir, strconv.Itoa(i)))
		c.Env = append(os.Environ(), "LOADGEN_CHILD=1")
		c.Stderr = os.Stderr
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := c.StdoutPipe()
		if err != nil {
			return err
		}
		if err := c.Start(); err != nil {
			return err
		}
		cmds = append(cmds, c)
		go func() {
			line, err := bufio.NewReader(out).ReadString('\n')
			if err == nil && line != "ready\n" {
				err = fmt.Errorf("child said %q", line)
			}
			ready <- err
		}()
	}
	deadline := time.After(timeout)
	for range procs {
		select {
		case err := <-ready:
			if err != nil {
				return fmt.Errorf("child: %w", err)
			}
		case <-deadline:
			return fmt.Errorf("children not ready after %v", timeout)
		}
	}
	fmt.Printf("ready %d %d\n", procs, procs*l.sockets())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	select {
	case <-sig:
	case <-deadline:
	}
	return nil
}

func child(l load) error {
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return err
	}
	// The fds must stay open: hold them in a slice the process never drops.
	var held []int
	for range l.pairs {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("socketpair: %w", err)
		}
		held = append(held, fds[0], fds[1])
	}
	dns := &unix.SockaddrInet4{Port: 53, Addr: [4]byte{127, 0, 0, 53}}
	for i := range l.udp {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("udp socket: %w", err)
		}
		// Bound to an ephemeral port, or connected (which binds one): an
		// unbound UDP socket is in no table, and ss would not list it.
		if i < l.dns {
			err = unix.Connect(fd, dns)
		} else {
			err = unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
		}
		if err != nil {
			return fmt.Errorf("udp socket %d: %w", i, err)
		}
		held = append(held, fd)
	}
	ln, err := net.Listen("unix", filepath.Join(l.dir, "listener sock"))
	if err != nil {
		return err
	}
	var accepted []net.Conn
	for range l.accepted {
		c, err := net.Dial("unix", ln.Addr().String())
		if err != nil {
			return err
		}
		a, err := ln.Accept()
		if err != nil {
			return err
		}
		c.Close()
		accepted = append(accepted, a)
	}
	// Reachable from a global, so that no finalizer closes them.
	keep = []any{held, ln, accepted}
	fmt.Println("ready")
	// Parked until the parent dies (PR_SET_PDEATHSIG) or kills it.
	select {}
}

// raiseNoFile lifts RLIMIT_NOFILE to at least n; children inherit it.
func raiseNoFile(n uint64) error {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	if rl.Cur >= n {
		return nil
	}
	rl.Cur = n
	if rl.Max < n {
		rl.Max = n
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return fmt.Errorf("raise RLIMIT_NOFILE to %d: %w", n, err)
	}
	return nil
}
