// Package testenv builds the real binaries the tests run: sockwatch's own
// commands, and a real Telegraf built from its module, cached between runs;
// and holds what the tests of several packages share: running a command,
// copying fixtures, reading the plugin's README.
package testenv

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
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
// as "./cmd/check_sockwatch") once per test process and returns the binary.
// Binaries go to CacheDir/bin, written under a temporary name and renamed, so
// test processes of several packages can build the same command at once.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if bin, ok := built[pkg]; ok {
		return bin
	}
	dir := filepath.Join(CacheDir(t), "bin")
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
	dir := t.TempDir()
	data, err := os.ReadFile(bin)
	if err == nil {
		err = errors.Join(os.Chmod(dir, 0o755), os.Chmod(filepath.Dir(dir), 0o755))
	}
	dst := filepath.Join(dir, filepath.Base(bin))
	if err == nil {
		err = os.WriteFile(dst, data, 0o755)
	}
	if err != nil {
		t.Fatalf("testenv: copying %s: %v", bin, err)
	}
	return dst
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
	if err := os.WriteFile(tmp, data, fi.Mode().Perm()); err == nil {
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
