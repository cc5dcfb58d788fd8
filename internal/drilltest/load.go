package drilltest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// load is the traffic a holder runs inside the drill's namespace, on
// loopback only. Everything it opens stays open until the holder exits.
type load struct {
	children  []*exec.Cmd
	listeners []net.Listener // referenced, so that no finalizer closes them
	held      []int          // client sockets kept open on purpose
	payload   []byte
}

func newLoad() *load { return &load{payload: make([]byte, 256<<10)} }

// do runs one command of the test; its reply is the text after "ok".
func (l *load) do(args []string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("empty command")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "sysctl": // NAME VALUE: a per-namespace sysctl, such as net/ipv4/tcp_max_tw_buckets
		if len(args) != 2 {
			return "", fmt.Errorf("sysctl: want NAME VALUE")
		}
		return "", os.WriteFile(filepath.Join("/proc/sys", filepath.Clean("/"+args[0])), []byte(args[1]+"\n"), 0)
	case "spawn": // NAME ROLE ARG...: a child process named NAME
		if len(args) < 2 {
			return "", fmt.Errorf("spawn: want NAME ROLE ARG...")
		}
		c, err := spawn(args[0], args[1], args[2:]...)
		if err != nil {
			return "", err
		}
		l.children = append(l.children, c)
		return strconv.Itoa(c.Process.Pid), nil
	case "unix-connect": // PATH N: N more connections to PATH, held
		n, err := atoiArg(args, 1)
		if err != nil {
			return "", err
		}
		for range n {
			fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return "", err
			}
			if err := unix.Connect(fd, &unix.SockaddrUnix{Name: args[0]}); err != nil {
				unix.Close(fd)
				return "", fmt.Errorf("connect %s: %w", args[0], err)
			}
			l.held = append(l.held, fd)
		}
		return strconv.Itoa(len(l.held)), nil
	case "tcp-listen": // hold|eof RCVBUF: a listener on 127.0.0.1; replies its port
		rcvbuf, err := atoiArg(args, 1)
		if err != nil {
			return "", err
		}
		return l.listen(args[0], rcvbuf)
	case "orphans", "fill", "short": // PORT N [SNDBUF]
		port, err := atoiArg(args, 0)
		if err != nil {
			return "", err
		}
		n, err := atoiArg(args, 1)
		if err != nil {
			return "", err
		}
		sndbuf := 0
		if len(args) > 2 {
			if sndbuf, err = atoiArg(args, 2); err != nil {
				return "", err
			}
		}
		for range n {
			if err := l.client(cmd, port, sndbuf); err != nil {
				return "", fmt.Errorf("%s: %w", cmd, err)
			}
		}
		return strconv.Itoa(len(l.held)), nil
	}
	return "", fmt.Errorf("unknown command %q", cmd)
}

// listen starts a TCP listener on loopback. Its connections either are held
// and never read ("hold": the peer's data piles up in the receive queue), or
// are read to the end and closed after the peer closed ("eof": the peer,
// closing first, is the side left in TIME_WAIT). A positive rcvbuf is set on
// the listener, and so on every connection accepted from it.
func (l *load) listen(mode string, rcvbuf int) (string, error) {
	if mode != "hold" && mode != "eof" {
		return "", fmt.Errorf("tcp-listen: mode %q, want hold or eof", mode)
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		if rcvbuf <= 0 {
			return nil
		}
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
		})
		return errors.Join(err, serr)
	}}
	ln, err := lc.Listen(nil, "tcp4", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	l.listeners = append(l.listeners, ln)
	go func() {
		var held []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				fmt.Fprintf(os.Stderr, "holder: accept: %v\n", err)
				return
			}
			if mode == "hold" {
				held = append(held, c)
				continue
			}
			go func() {
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

// client opens one connection to 127.0.0.1:port and, by kind:
//   - orphans: writes until the socket buffers on both sides are full, then
//     closes it, leaving an orphan in FIN_WAIT1 with unsent data that lives
//     as long as the peer keeps answering the zero window probes;
//   - fill: writes until the buffers are full and keeps the socket open;
//   - short: closes at once, so that it ends in TIME_WAIT.
func (l *load) client(kind string, port, sndbuf int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if sndbuf > 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, sndbuf); err != nil {
			unix.Close(fd)
			return err
		}
	}
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(fd)
		return err
	}
	if kind == "short" {
		return unix.Close(fd)
	}
	if err := l.writeFull(fd); err != nil {
		unix.Close(fd)
		return err
	}
	if kind == "orphans" {
		return unix.Close(fd)
	}
	l.held = append(l.held, fd)
	return nil
}

// writeFull writes to fd until the kernel takes no more: the peer's receive
// window is shut and the send buffer is full, or TCP memory is refused.
func (l *load) writeFull(fd int) error {
	if err := unix.SetNonblock(fd, true); err != nil {
		return err
	}
	for {
		_, err := unix.Write(fd, l.payload)
		switch {
		case errors.Is(err, unix.EINTR):
		case errors.Is(err, unix.EAGAIN):
			return nil
		case err != nil:
			return err
		}
	}
}
