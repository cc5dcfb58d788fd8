//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// The creators' load during the dashboard run: a process making DNS
// lookups at a known rate (the socket creation panel), and one whose TCP
// senders the kernel refuses memory (the memory-limit panel).
const (
	dnsProcess  = "e2e-dns"
	dnsRate     = 50.0
	fillProcess = "e2e-fill"
)

// startCreatorsLoad starts both processes; they end with the test.
func startCreatorsLoad(t *testing.T) {
	t.Helper()
	churn := testenv.Build(t, "./bench/churn")
	cmd := exec.Command(churn, "-name", dnsProcess, "-dns", fmt.Sprint(dnsRate))
	cmd.Stderr = os.Stderr
	testenv.Start(t, cmd)

	// Socket memory is charged to the memory cgroup of the process that
	// created the socket: a child cgroup whose TCP memory is limited to
	// 256 KiB makes the kernel refuse the filler, and no global limit is
	// lowered for the test.
	cg := tcpMemoryCgroup(t, 256<<10)
	cmd = exec.Command("sh", "-c", `echo $$ > "$1/cgroup.procs" && exec "$2" -name "$3" -fill 10`, "sh", cg, churn, fillProcess)
	cmd.Stderr = os.Stderr
	testenv.Start(t, cmd)
}

// tcpMemoryCgroup creates a child of this process's memory cgroup whose
// TCP memory is limited to limit bytes (cgroup v1's
// memory.kmem.tcp.limit_in_bytes), removed when the test ends.
func tcpMemoryCgroup(t *testing.T, limit int) string {
	t.Helper()
	f, err := os.Open("/proc/self/cgroup")
	require.NoError(t, err)
	defer f.Close()
	var own string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) == 3 && parts[1] == "memory" {
			own = parts[2]
		}
	}
	require.NotEmpty(t, own, "no cgroup v1 memory controller: the memory-limit panel needs it to make the kernel refuse socket memory without lowering a global limit")
	dir := filepath.Join("/sys/fs/cgroup/memory", own, fmt.Sprintf("sockwatch-e2e-%d", os.Getpid()))
	require.NoError(t, os.Mkdir(dir, 0o755))
	t.Cleanup(func() {
		// The filler is gone once the test's cleanups stopped it; the
		// directory can go when its last process has.
		deadline := time.Now().Add(10 * time.Second)
		for os.Remove(dir) != nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "memory.kmem.tcp.limit_in_bytes"), []byte(fmt.Sprint(limit)), 0),
		"cgroup v1's TCP memory limit")
	return dir
}
