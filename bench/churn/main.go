// Command churn creates and closes sockets at known rates, holding none for
// long: the load that socket scans cannot see and the eBPF creators count. A
// DNS lookup is a UDP socket connected to -dns-server (port 53) sending one
// query; -sendto sends it unconnected instead. Nothing needs to answer.
//
// It names itself -name (its comm, any bytes but NUL), prints
// "ready PID" and runs until its stdin closes or, with -duration, until each
// kind has made rate x duration of its sockets: an exact count, however late
// a loaded machine runs it.
//
//	churn -name dns-storm -dns 300
package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	name := flag.String("name", "", "process name (comm) to take; at most 15 bytes are kept")
	udp := flag.Float64("udp", 0, "UDP sockets per second (socket+close)")
	unixRate := flag.Float64("unix", 0, "UNIX sockets per second (socket+close)")
	tcp := flag.Float64("tcp", 0, "TCP sockets per second (socket+close)")
	pairs := flag.Float64("pairs", 0, "UNIX socketpairs per second (two sockets each)")
	dns := flag.Float64("dns", 0, "DNS lookups per second (a UDP socket each)")
	server := flag.String("dns-server", "127.0.0.1", "address the lookups go to, port 53")
	sendto := flag.Bool("sendto", false, "send lookups with sendto() on an unconnected socket, not connect()")
	duration := flag.Duration("duration", 0, "stop after rate x duration of each (0: when stdin closes)")
	first := flag.Int("sockets", 0, "UDP sockets to create and close before saying ready")
	fill := flag.Float64("fill", 0, "loopback TCP connections per second whose sender fills its buffers, never read (16 kept)")
	flag.Parse()

	if *name != "" {
		// The process's comm is its main thread's: /proc/self/comm names
		// that one, whichever thread writes it.
		if err := os.WriteFile("/proc/self/comm", []byte(*name), 0); err != nil {
			fail(err)
		}
	}
	addr, err := netip.ParseAddr(*server)
	if err != nil {
		fail(err)
	}
	dst := sockaddr(addr)
	query := dnsQuery()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	run := func(rate float64, op func() error) {
		if rate <= 0 {
			return
		}
		limit := -1
		if *duration > 0 {
			limit = int(rate * duration.Seconds())
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pace(rate, limit, stop, op)
		}()
	}
	run(*udp, func() error { return socketClose(unix.AF_INET, unix.SOCK_DGRAM) })
	run(*unixRate, func() error { return socketClose(unix.AF_UNIX, unix.SOCK_DGRAM) })
	run(*tcp, func() error { return socketClose(unix.AF_INET, unix.SOCK_STREAM) })
	run(*pairs, func() error {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			return err
		}
		unix.Close(fds[0])
		return unix.Close(fds[1])
	})
	run(*dns, func() error { return lookup(dst, query, *sendto) })
	if *fill > 0 {
		f, err := newFiller()
		if err != nil {
			fail(err)
		}
		run(*fill, f.fill)
	}

	for range *first {
		if err := socketClose(unix.AF_INET, unix.SOCK_DGRAM); err != nil {
			fail(err)
		}
	}
	fmt.Printf("ready %d\n", os.Getpid())
	if *duration == 0 {
		io.Copy(io.Discard, os.Stdin)
		close(stop)
	}
	wg.Wait()
}

// pace runs op rate times a second until stop closes or, limit not
// negative, op has run limit times, catching up on the count due since the
// start rather than sleeping a fixed period, so that a late wake-up does not
// lower the rate.
func pace(rate float64, limit int, stop <-chan struct{}, op func() error) {
	start := time.Now()
	done := 0
	for limit < 0 || done < limit {
		select {
		case <-stop:
			return
		default:
		}
		due := int(rate * time.Since(start).Seconds())
		if limit >= 0 {
			due = min(due, limit)
		}
		for ; done < due; done++ {
			if err := op(); err != nil {
				fail(err)
			}
		}
		time.Sleep(time.Millisecond)
	}
}

// filler makes the kernel account, and refuse, socket memory: connections
// to a listener of its own whose data is never read, filled until the
// sender's buffer is full. Run in a memory cgroup with a small limit on
// TCP memory, the kernel refuses it memory: sock:sock_exceed_buf_limit.
type filler struct {
	listener int
	addr     unix.Sockaddr
	conns    [][2]int // sender, accepted
}

const fillerConns = 16

func newFiller() (*filler, error) {
	l, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(l, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return nil, err
	}
	if err := unix.Listen(l, 64); err != nil {
		return nil, err
	}
	addr, err := unix.Getsockname(l)
	if err != nil {
		return nil, err
	}
	return &filler{listener: l, addr: addr}, nil
}

func (f *filler) fill() error {
	if len(f.conns) == fillerConns {
		unix.Close(f.conns[0][0])
		unix.Close(f.conns[0][1])
		f.conns = f.conns[1:]
	}
	c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := unix.Connect(c, f.addr); err != nil {
		unix.Close(c)
		return err
	}
	a, _, err := unix.Accept4(f.listener, unix.SOCK_CLOEXEC)
	if err != nil {
		unix.Close(c)
		return err
	}
	f.conns = append(f.conns, [2]int{c, a})
	chunk := make([]byte, 64<<10)
	for range 64 { // at most 4 MiB a connection
		if _, err := unix.SendmsgN(c, chunk, nil, nil, unix.MSG_DONTWAIT); err != nil {
			if err == unix.EAGAIN || err == unix.ENOBUFS || err == unix.ENOMEM {
				return nil
			}
			return err
		}
	}
	return nil
}

func socketClose(family, typ int) error {
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

// lookup sends one DNS query to dst from a fresh UDP socket, as the C
// library's resolver does; the answer is not awaited.
func lookup(dst unix.Sockaddr, query []byte, sendto bool) error {
	family := unix.AF_INET
	if _, ok := dst.(*unix.SockaddrInet6); ok {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if sendto {
		err = unix.Sendto(fd, query, 0, dst)
	} else if err = unix.Connect(fd, dst); err == nil {
		_, err = unix.Write(fd, query)
	}
	if err == unix.ECONNREFUSED || err == unix.EAGAIN {
		err = nil // nothing listens: the lookup was made all the same
	}
	return err
}

func sockaddr(a netip.Addr) unix.Sockaddr {
	if a.Is4() {
		return &unix.SockaddrInet4{Port: 53, Addr: a.As4()}
	}
	return &unix.SockaddrInet6{Port: 53, Addr: a.As16()}
}

// dnsQuery is a query for example.com A.
func dnsQuery() []byte {
	q := []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	q = append(q, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1)
	return q
}

func fail(err error) {
	fmt.Println("error:", err)
	os.Exit(1)
}
