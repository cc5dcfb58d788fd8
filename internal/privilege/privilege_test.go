package privilege

// These tests use the standard testing package alone: testify's assert
// imports net/http, which links cgo into the test binary when CGO_ENABLED=1
// (go test's default where a C compiler is found), and a binary with cgo
// cannot change the capabilities of all its threads (ErrCgo).

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// helperEnv marks the re-executed test binary that goes through Setup,
// During and Drop, saying at each step whether the root-only file named by
// the variable is readable and waiting for a line on stdin, so that the
// test can look at its threads meanwhile.
const helperEnv = "SOCKWATCH_PRIVILEGE_HELPER"

func TestMain(m *testing.M) {
	if secret := os.Getenv(helperEnv); secret != "" {
		helper(secret)
		return
	}
	os.Exit(m.Run())
}

func helper(secret string) {
	// Goroutines locked to threads of their own: more threads than the
	// runtime's few, each of which must be changed.
	var started sync.WaitGroup
	for range 4 {
		started.Add(1)
		go func() {
			runtime.LockOSThread()
			started.Done()
			time.Sleep(time.Hour)
		}()
	}
	started.Wait()
	in := bufio.NewReader(os.Stdin)
	step := func(name string, err error) {
		_, rerr := os.ReadFile(secret)
		fmt.Printf("%s err=%v readable=%v\n", name, err, rerr == nil)
		in.ReadString('\n')
	}
	st, err := Current()
	fmt.Printf("status raised=%v why=%s err=%v\n", st.Raised, st.Why, err)
	step("start", nil)
	_, err = Setup()
	step("setup", err)
	err = During(Scan, func() { step("during", nil) })
	step("lowered", err)
	step("dropped", Drop())
}

// TestSteps runs the helper as nobody with capabilities, as a binary given
// them by setcap would have them, and with none: at each step every one of
// its threads has the capability sets expected, and a root-only file is
// readable only while the scan's capabilities are raised.
func TestSteps(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test runs a helper as nobody with capabilities, which needs root (CI runs as root)")
	}
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("7391046\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := testenv.PublicCopy(t, os.Args[0])
	none := testenv.Caps{}
	lowered := testenv.Caps{Prm: uint64(Scan)}
	raised := testenv.Caps{Prm: uint64(Scan), Eff: uint64(Scan)}
	var root testenv.Caps
	for _, c := range testenv.ThreadCaps(t, os.Getpid()) {
		root = c
	}
	for _, tc := range []struct {
		name   string
		caps   []uintptr
		setuid bool // a set-user-ID root copy of the binary
		status string
		steps  []string // "NAME readable=BOOL"
		want   []testenv.Caps
	}{
		{
			name: "capabilities",
			// cap_net_raw stands for any capability sockwatch has no use
			// for: Setup drops it.
			caps:   []uintptr{unix.CAP_DAC_READ_SEARCH, unix.CAP_SYS_PTRACE, unix.CAP_NET_RAW},
			status: "status raised=true why=capabilities cap_dac_read_search,cap_net_raw,cap_sys_ptrace, which uid 65534 does not have err=<nil>",
			steps:  []string{"start readable=true", "setup readable=false", "during readable=true", "lowered readable=false", "dropped readable=false"},
			want: []testenv.Caps{
				{Inh: uint64(Scan | Of(unix.CAP_NET_RAW)), Prm: uint64(Scan | Of(unix.CAP_NET_RAW)),
					Eff: uint64(Scan | Of(unix.CAP_NET_RAW)), Amb: uint64(Scan | Of(unix.CAP_NET_RAW))},
				lowered, raised, lowered, none,
			},
		},
		{
			// Root's capabilities while the effective uid is 0, then Kept
			// alone (CAP_BPF and CAP_PERFMON with the scan's), as the
			// caller's uid with 0 as saved uid; only the scan's raised.
			name:   "set-user-ID root",
			setuid: true,
			status: "status raised=true why=set-user-ID (effective uid 0, real uid 65534); capabilities " + Set(root.Prm).String() +
				", which uid 65534 does not have err=<nil>",
			steps: []string{"start readable=true", "setup readable=false", "during readable=true", "lowered readable=false", "dropped readable=false"},
			want: []testenv.Caps{{Prm: root.Prm, Eff: root.Prm}, {Prm: uint64(Kept)}, {Prm: uint64(Kept), Eff: uint64(Scan)},
				{Prm: uint64(Kept)}, none},
		},
		{
			name:   "none",
			status: "status raised=false why= err=<nil>",
			steps:  []string{"start readable=false", "setup readable=false", "during readable=false", "lowered readable=false", "dropped readable=false"},
			want:   []testenv.Caps{none, none, none, none, none},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := bin
			if tc.setuid {
				path = testenv.PublicCopy(t, bin)
				if err := os.Chmod(path, os.ModeSetuid|0o755); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(path, "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"="+secret)
			cmd.SysProcAttr = &syscall.SysProcAttr{
				Credential:  &syscall.Credential{Uid: 65534, Gid: 65534},
				AmbientCaps: tc.caps,
			}
			cmd.Stderr = os.Stderr
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			defer stdin.Close()
			out := bufio.NewReader(stdout)
			line, _ := out.ReadString('\n')
			if got := strings.TrimSpace(line); got != tc.status {
				t.Fatalf("helper said %q, want %q", got, tc.status)
			}
			for i, want := range tc.steps {
				line, _ := out.ReadString('\n')
				name, _, _ := strings.Cut(want, " ")
				if got := strings.TrimSpace(line); got != strings.Replace(want, " ", " err=<nil> ", 1) {
					t.Fatalf("step %d: helper said %q, want %q", i, got, want)
				}
				threads := testenv.ThreadCaps(t, cmd.Process.Pid)
				if len(threads) < 5 {
					t.Fatalf("%s: %d threads, want at least 5", name, len(threads))
				}
				for tid, got := range threads {
					if got != tc.want[i] {
						t.Errorf("%s: thread %d has %v, want %v", name, tid, got, tc.want[i])
					}
				}
				t.Logf("%s: %d threads, each %v", name, len(threads), tc.want[i])
				if _, err := stdin.Write([]byte("\n")); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestSetString(t *testing.T) {
	for _, tc := range []struct {
		s    Set
		want string
	}{
		{0, "none"},
		{Scan, "cap_dac_read_search,cap_sys_ptrace"},
		{Kept, "cap_dac_read_search,cap_sys_ptrace,cap_perfmon,cap_bpf"},
		{1 << 63, "cap_63"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%#x: %q, want %q", uint64(tc.s), got, tc.want)
		}
	}
}
