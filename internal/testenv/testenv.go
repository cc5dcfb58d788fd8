// Package testenv builds the real binaries the tests run: sockwatch's own
// commands, and a real Telegraf built from its module, cached between runs;
// and holds what the tests of several packages share: running a command,
// copying fixtures, reading the plugin's README.
package testenv

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TelegrafVersion is the Telegraf release the tests run against.
const TelegrafVersion = "v1.39.3"

// TelegrafTags are the plugins compiled into the test Telegraf.
const TelegrafTags = "custom,inputs.execd,outputs.file,outputs.influxdb,parsers.influx,serializers.influx"

// ModuleRoot returns the root of the sockwatch module.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testenv: cannot locate the module")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// CacheDir is where built tools are kept between test runs:
// $SOCKWATCH_CACHE, else the user cache directory, else the temporary one.
func CacheDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("SOCKWATCH_CACHE")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			// No HOME: a CI environment stripped bare.
			base = os.TempDir()
		}
		dir = filepath.Join(base, "sockwatch")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return dir
}

var telegrafOnce sync.Mutex

// Telegraf returns the path of a real Telegraf binary, building it from the
// module proxy on first use. The build takes about a minute; it is cached
// under CacheDir by version and plugin set.
func Telegraf(t testing.TB) string {
	t.Helper()
	telegrafOnce.Lock()
	defer telegrafOnce.Unlock()
	dir := filepath.Join(CacheDir(t), "telegraf-"+TelegrafVersion+"-"+strings.ReplaceAll(TelegrafTags, ",", "_"))
	bin := filepath.Join(dir, "telegraf")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", "install", "-tags", TelegrafTags,
		"-ldflags", "-X github.com/influxdata/telegraf/internal.Version="+strings.TrimPrefix(TelegrafVersion, "v"),
		"github.com/influxdata/telegraf/cmd/telegraf@"+TelegrafVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: building Telegraf %s: %v\n%s", TelegrafVersion, err, out)
	}
	return bin
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// Build compiles the command in pkg (a path relative to the module root, such
// as "./cmd/check_sockwatch") once per test process, without cgo, and returns
// the binary.
// Binaries go to a directory of CacheDir/bin for this source tree, written
// under a temporary name and renamed, so test processes of several packages
// can build the same command at once.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if bin, ok := built[pkg]; ok {
		return bin
	}
	// One directory per source tree: work trees of the same module tested
	// at once must not run each other's builds.
	sum := sha256.Sum256([]byte(ModuleRoot(t)))
	dir := filepath.Join(CacheDir(t), "bin", hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	tmp, err := os.CreateTemp(dir, filepath.Base(pkg)+".*")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	tmp.Close()
	cmd := exec.Command("go", "build", "-o", tmp.Name(), pkg)
	cmd.Dir = ModuleRoot(t)
	// As make build does: given capabilities, the binaries change them on
	// every thread, which takes a build without cgo.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp.Name())
		t.Fatalf("testenv: building %s: %v\n%s", pkg, err, out)
	}
	if err := os.Rename(tmp.Name(), bin); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	built[pkg] = bin
	return bin
}

// StartHelper runs the test binary again with env added, for a helper that
// an init function of the test package dispatches on that environment: it
// holds sockets, prints "ready" and lives until its stdin closes, which
// happens when the test ends. It returns the helper's process.
func StartHelper(t testing.TB, env ...string) *os.Process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	if line := Start(t, cmd); line != "ready\n" {
		t.Fatalf("testenv: helper %v said %q", env, line)
	}
	return cmd.Process
}

// Churn starts bench/churn with args, for as long as the test runs (or its
// -duration), and returns its PID once it is ready.
func Churn(t testing.TB, args ...string) int {
	t.Helper()
	cmd := exec.Command(Build(t, "./bench/churn"), args...)
	cmd.Stderr = os.Stderr
	line := Start(t, cmd)
	pid, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "ready "))
	if err != nil {
		t.Fatalf("testenv: churn said %q", line)
	}
	return pid
}

// Start starts cmd, a helper that says on one line of its stdout that it is
// ready, and lives until its stdin closes, which happens when the test ends.
// It returns that line.
func Start(t testing.TB, cmd *exec.Cmd) string {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: starting %s: %v", cmd.Path, err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("testenv: %s said %q before %v", cmd.Path, line, err)
	}
	return line
}

// Run runs cmd to its end and returns what it wrote and its exit code (-1
// when a signal ended it).
func Run(t testing.TB, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", cmd.Path, err)
	}
	return out.String(), errOut.String(), code
}

// Readers says who may read what CopyTree copies.
type Readers int

const (
	// Owner: the copy is under the test's temporary directory, as it is.
	Owner Readers = iota
	// Everyone: the copy and the directory above it are opened to all, for
	// a binary run as another user.
	Everyone
)

// CopyTree copies the tree at src, symbolic links as links (the net
// directories of processes that share a namespace are links), directories
// 0755 and files 0644, so that a test can change the copy. It returns the
// copy's root.
func CopyTree(t testing.TB, src string, readers Readers) string {
	t.Helper()
	dst := t.TempDir()
	if readers == Everyone {
		for _, dir := range []string{dst, filepath.Dir(dst)} {
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatalf("testenv: copying %s: %v", src, err)
	}
	return dst
}

// PublicCopy copies the binary bin where another user can run it: the build
// cache is under root's home.
func PublicCopy(t testing.TB, bin string) string {
	t.Helper()
	return copyBinary(t, bin, 0o755, 0o755, 0)
}

// NobodyGID is the group of user nobody (nogroup), the tests' unprivileged
// user.
const NobodyGID = 65534

// CapableCopy copies the binary bin as the README has an administrator
// install it: given capabilities caps with setcap ("cap_dac_read_search,
// cap_sys_ptrace+ep"), and only runnable by root and the members of group
// gid, from a directory no one else may enter. It needs root and setcap
// (libcap2-bin, installed by scripts/deps.sh).
func CapableCopy(t testing.TB, bin, caps string, gid int) string {
	t.Helper()
	dst := copyBinary(t, bin, 0o750, 0o750, gid)
	if out, err := exec.Command("setcap", caps, dst).CombinedOutput(); err != nil {
		t.Fatalf("testenv: setcap %s %s: %v\n%s", caps, dst, err, out)
	}
	return dst
}

// WriteExecutable writes data to path, mode mode, holding off this process's
// forks while the file is open for writing. A child forked then (another
// test's command, a daemon being started) keeps the descriptor until it
// execs, and until then the kernel refuses to run the file: "text file
// busy", to this process and to the daemons that run the file.
func WriteExecutable(path string, data []byte, mode os.FileMode) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	return os.WriteFile(path, data, mode)
}

// copyBinary copies bin into a directory of its own, mode dirMode, its
// parent traversable by all; both the directory and the copy (mode
// fileMode) belong to root and group gid.
func copyBinary(t testing.TB, bin string, dirMode, fileMode os.FileMode, gid int) string {
	t.Helper()
	dir := execDir(t)
	dst := filepath.Join(dir, filepath.Base(bin))
	data, err := os.ReadFile(bin)
	if err == nil {
		err = errors.Join(os.Chmod(filepath.Dir(dir), 0o711), os.Chown(dir, 0, gid), os.Chmod(dir, dirMode),
			WriteExecutable(dst, data, fileMode), os.Chown(dst, 0, gid), os.Chmod(dst, fileMode))
	}
	if err != nil {
		t.Fatalf("testenv: copying %s: %v", bin, err)
	}
	return dst
}

// execDir returns a new directory for a binary, removed when the test
// ends, on a file system that honours set-user-ID bits and file
// capabilities (a nosuid mount ignores both): the temporary directory's,
// else /var/tmp's, since /tmp is a nosuid tmpfs on some systems (Debian 13).
func execDir(t testing.TB) string {
	t.Helper()
	for _, base := range []string{os.TempDir(), "/var/tmp"} {
		var st unix.Statfs_t
		if unix.Statfs(base, &st) != nil || nosuid(&st) {
			continue
		}
		if base == os.TempDir() {
			return t.TempDir()
		}
		parent, err := os.MkdirTemp(base, "sockwatch-test-")
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		t.Cleanup(func() { os.RemoveAll(parent) })
		dir := filepath.Join(parent, "bin")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		return dir
	}
	t.Fatalf("testenv: %s and /var/tmp are mounted nosuid: set TMPDIR to a directory that honours set-user-ID and file capabilities", os.TempDir())
	return ""
}

// Secrets are what LeakTrees' root's files hold: numbers and words that
// must not come out of a binary run by another user who pointed it at
// them.
var Secrets = []string{"7391046", "5550123", "saltsecret", "hunter2word", "roothome"}

// LeakTrees builds proc trees that anyone may read, whose files are links
// into a directory only root may enter, holding Secrets: the test of a
// binary given capabilities and pointed at a tree of the caller's choosing.
// In the first, sockstat is sound (a regular file) and the limits
// (file-max, tcp_max_orphans, tcp_max_tw_buckets) are links to a number,
// netstat to counters, protocols and user_beancounters to lines of words;
// a binary reading them through its capabilities would print the number as
// a limit and quote the words in parse errors. In the second, sockstat
// itself is a link to lines of /etc/shadow's form, whose first word (a
// secret too) ends in ":". In the third, sockstat is a link to a file of
// root's that anyone may read, as /etc/passwd: its text must not be quoted
// to another user either.
func LeakTrees(t testing.TB) []string {
	t.Helper()
	secret, public := t.TempDir(), t.TempDir()
	files := map[string]string{
		"number":  "7391046\n",
		"netstat": "TcpExt: TCPAbortOnMemory TCPMemoryPressures\nTcpExt: 5550123 5550123\n",
		"words":   "saltsecret:$6$hunter2word:19000:0:99999:7:::\nhunter2word saltsecret\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(secret, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	err := errors.Join(os.Chmod(secret, 0o700), os.Chmod(public, 0o755), os.Chmod(filepath.Dir(public), 0o755),
		os.WriteFile(filepath.Join(public, "passwd"), []byte("roothome:x:0:0:root:/root:/bin/sh\n"), 0o644))
	if err != nil {
		t.Fatal(err)
	}
	const sockstat = "sockets: used 371\nTCP: inuse 29 orphan 0 tw 3 alloc 31 mem 2\nUDP: inuse 14 mem 1\n"
	trees := []map[string]string{
		{
			"net/sockstat":                    "",
			"sys/fs/file-max":                 "number",
			"sys/net/ipv4/tcp_max_orphans":    "number",
			"sys/net/ipv4/tcp_max_tw_buckets": "number",
			"net/netstat":                     "netstat",
			"net/protocols":                   "words",
			"user_beancounters":               "words",
		},
		{"net/sockstat": "words"},
		{"net/sockstat": filepath.Join(public, "passwd")},
	}
	var roots []string
	for _, tree := range trees {
		root := t.TempDir()
		for _, dir := range []string{root, filepath.Dir(root)} {
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for path, target := range tree {
			path = filepath.Join(root, path)
			err := os.MkdirAll(filepath.Dir(path), 0o755)
			if err == nil && target == "" {
				err = os.WriteFile(path, []byte(sockstat), 0o644)
			} else if err == nil {
				if !filepath.IsAbs(target) {
					target = filepath.Join(secret, target)
				}
				err = os.Symlink(target, path)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		roots = append(roots, root)
	}
	return roots
}

// SetCounter sets counter name of the two-line table prefix ("TcpExt") in
// a netstat or snmp file to value. The file is replaced, not rewritten, so
// that a check reading it meanwhile (a monitoring core's) sees the old
// table or the new one, never half of one.
func SetCounter(t testing.TB, path, prefix, name, value string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i := 0; i+1 < len(lines); i++ {
		if !strings.HasPrefix(lines[i], prefix+":") {
			continue
		}
		names := strings.Fields(lines[i])
		values := strings.Fields(lines[i+1])
		for j, n := range names {
			if n == name {
				values[j] = value
				lines[i+1] = strings.Join(values, " ")
				ReplaceFile(t, path, []byte(strings.Join(lines, "\n")))
				return
			}
		}
	}
	t.Fatalf("%s %s not found in %s", prefix, name, path)
}

// ReplaceFile replaces the file at path with one holding data, of the same
// mode, by renaming a new file over it: a reader sees the old file or the
// new one whole.
func ReplaceFile(t testing.TB, path string, data []byte) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".new"
	err = os.WriteFile(tmp, data, fi.Mode().Perm())
	if err == nil {
		err = errors.Join(os.Chmod(tmp, fi.Mode().Perm()), os.Rename(tmp, path))
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Documented is what a plugin README's Metrics section lists for a series.
type Documented struct {
	Tags, Fields map[string]bool
}

// ReadmeMetrics parses the Metrics section of the README at path: "###
// `measurement`" headings ("### `sockwatch` per network namespace" is a
// series of its own, keyed "sockwatch per network namespace"), then "- tags:"
// and "- fields ...:" lists whose items start with backquoted names
// ("  - `tcp6_inuse`, `udp6_inuse` (integer, ...").
func ReadmeMetrics(t testing.TB, path string) map[string]Documented {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile("^  - ((?:`[a-z0-9_]+`(?:, )?)+)")
	name := regexp.MustCompile("`([a-z0-9_]+)`")
	out := map[string]Documented{}
	var cur Documented
	var list map[string]bool
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case line == "## Metrics":
			in = true
		case in && strings.HasPrefix(line, "## "):
			in = false
		case !in:
		case strings.HasPrefix(line, "### "):
			list = nil
			if name.MatchString(line) {
				cur = Documented{Tags: map[string]bool{}, Fields: map[string]bool{}}
				out[strings.ReplaceAll(line[len("### "):], "`", "")] = cur
			}
		case strings.HasPrefix(line, "- tags:"):
			list = cur.Tags
		case strings.HasPrefix(line, "- fields"):
			list = cur.Fields
		case list != nil:
			if m := names.FindStringSubmatch(line); m != nil {
				for _, n := range name.FindAllStringSubmatch(m[1], -1) {
					list[n[1]] = true
				}
			}
		}
	}
	return out
}

// Caps are one thread's capability sets, as /proc/PID/task/TID/status
// shows them.
type Caps struct{ Inh, Prm, Eff, Amb uint64 }

func (c Caps) String() string {
	return fmt.Sprintf("CapInh %016x CapPrm %016x CapEff %016x CapAmb %016x", c.Inh, c.Prm, c.Eff, c.Amb)
}

// ThreadCaps returns the capability sets of every thread of process pid,
// by thread ID: capabilities belong to a thread, and a Go program runs on
// several.
func ThreadCaps(t testing.TB, pid int) map[int]Caps {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	out := map[int]Caps{}
	for _, task := range tasks {
		data, err := os.ReadFile(filepath.Join(dir, task.Name(), "status"))
		if errors.Is(err, fs.ErrNotExist) {
			continue // the thread ended
		}
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		var c Caps
		for _, line := range strings.Split(string(data), "\n") {
			name, value, _ := strings.Cut(line, ":\t")
			dst := map[string]*uint64{"CapInh": &c.Inh, "CapPrm": &c.Prm, "CapEff": &c.Eff, "CapAmb": &c.Amb}[name]
			if dst == nil {
				continue
			}
			if *dst, err = strconv.ParseUint(value, 16, 64); err != nil {
				t.Fatalf("testenv: %s of thread %s: %v", name, task.Name(), err)
			}
		}
		tid, _ := strconv.Atoi(task.Name())
		out[tid] = c
	}
	return out
}
