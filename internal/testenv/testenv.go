// Package testenv builds the real binaries the tests run: sockwatch's own
// commands, and a real Telegraf built from its module, cached between runs.
package testenv

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
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
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("testenv: helper %v said %q (%v)", env, line, err)
	}
	return cmd.Process
}
