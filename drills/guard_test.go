//go:build drill

package drills

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/drilltest"
)

// TestGlobalSysctlGuard: while a drill holds a global sysctl changed, the
// restore script exists, the drills refuse to start and say how to restore;
// the script alone, as an operator would run it, restores the value and
// removes itself. The change is tcp_max_orphans one lower, harmless.
func TestGlobalSysctlGuard(t *testing.T) {
	const name = "net/ipv4/tcp_max_orphans"
	requireGlobalSysctlsRestored(t)
	orig, err := readSysctl(name)
	require.NoError(t, err)
	v, err := strconv.Atoi(orig)
	require.NoError(t, err)
	restore := lowerGlobal(t, 10*time.Second, []string{name}, []string{strconv.Itoa(v - 1)})
	now, err := readSysctl(name)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(v-1), now)

	why, err := drilltest.GlobalSysctlsLeftChanged()
	require.NoError(t, err)
	require.Contains(t, why, "sh "+drilltest.RestoreScript)
	require.Contains(t, why, "echo '"+orig+"' > /proc/sys/"+name)

	out, err := exec.Command("sh", drilltest.RestoreScript).CombinedOutput()
	require.NoError(t, err, "%s", out)
	now, err = readSysctl(name)
	require.NoError(t, err)
	require.Equal(t, orig, now, "the restore script restores")
	_, err = os.Stat(drilltest.RestoreScript)
	require.True(t, os.IsNotExist(err), "the restore script removes itself")
	why, err = drilltest.GlobalSysctlsLeftChanged()
	require.NoError(t, err)
	require.Empty(t, why)
	restore()
}
