package drilltest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The roles the drill binary plays when started with roleEnv set.
const (
	roleEnv    = "SOCKWATCH_DRILL_ROLE"
	binDirEnv  = "SOCKWATCH_DRILL_BIN_DIR" // where the named links to the drill binary are
	roleHolder = "holder"                  // PID 1 of the drill's namespaces; runs the load
	// RoleUnix is a child the holder spawns ("spawn NAME unix-listener
	// PATH") that holds every UNIX connection it accepts on PATH.
	RoleUnix = "unix-listener"
	// roleRestorer restores global sysctls should the test binary die.
	roleRestorer = "restorer"
)

// Main runs the role this process was started in by a drill, and exits;
// otherwise it returns at once. A test binary using Start calls it before
// its tests run (from TestMain or an init function).
func Main() {
	role := os.Getenv(roleEnv)
	if role == "" {
		return
	}
	if err := runRole(role, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "drill %s: %v\n", role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runRole(role string, args []string) error {
	switch role {
	case roleHolder:
		return runHolder(os.Stdin, os.Stdout)
	case RoleUnix:
		if len(args) != 1 {
			return fmt.Errorf("want the socket path, got %q", args)
		}
		return runUnixListener(args[0])
	case roleRestorer:
		return runRestorer(args)
	}
	return fmt.Errorf("unknown role %q", role)
}

// runHolder is PID 1 of a fresh network, PID and mount namespace. It mounts
// its own /proc, so that /proc/<its host pid>/root/proc is a proc tree whose
// PID 1 (itself) lives in the drill's network namespace: a proc root through
// which sockwatch reads the drill namespace as "the host". Then it brings up
// loopback and runs the commands the test sends on in, one per line,
// answering each with one line "ok ..." or "err ...". It exits when in
// closes; the kernel then kills every other process of its PID namespace.
func runHolder(in io.Reader, out io.Writer) error {
	// Mounts must not propagate to the host's mount namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	if err := loopbackUp(); err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}
	if _, err := fmt.Fprintln(out, "ready"); err != nil {
		return err
	}
	l := newLoad()
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		reply, err := l.do(strings.Fields(sc.Text()))
		if err != nil {
			reply = "err " + strings.ReplaceAll(err.Error(), "\n", " ")
		} else {
			reply = strings.TrimSpace("ok " + reply)
		}
		if _, err := fmt.Fprintln(out, reply); err != nil {
			return err
		}
	}
	return sc.Err()
}

// loopbackUp sets lo up, as `ip link set lo up` does: a new network
// namespace starts with it down.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// spawn starts the drill binary in role under the name of one of the links
// the test made in binDirEnv, so that the process is called what the drill
// wants (its comm is the link's name). It waits for the child's "ready"
// line; the child exits when its stdin, held here, closes.
func spawn(name, role string, args ...string) (*exec.Cmd, error) {
	path := filepath.Join(os.Getenv(binDirEnv), name)
	cmd := exec.Command(path, args...)
	cmd.Args[0] = name
	cmd.Env = append(os.Environ(), roleEnv+"="+role)
	cmd.Stderr = os.Stderr
	if _, err := cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("%s did not start: %q %v", name, line, err)
	}
	return cmd, nil
}

// runUnixListener accepts every connection on a UNIX socket at path and holds
// it, reading nothing, until stdin closes.
func runUnixListener(path string) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return err
	}
	if err := unix.Listen(fd, 4096); err != nil {
		return err
	}
	go func() {
		var held []int
		for {
			nfd, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED) {
				continue
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "unix-listener: accept: %v\n", err)
				os.Exit(1)
			}
			held = append(held, nfd)
		}
	}()
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	return nil
}

func atoiArg(args []string, i int) (int, error) {
	if i >= len(args) {
		return 0, fmt.Errorf("missing argument %d", i+1)
	}
	return strconv.Atoi(args[i])
}
