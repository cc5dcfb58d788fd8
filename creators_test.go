//go:build linux && amd64

package sockwatch

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// Live (root; CI runs as root): processes of one name are added up, their
// counter keeps growing across samples, and a storm of distinct names does
// not grow the totals past maxTotals.
func TestCreatorTracerLive(t *testing.T) {
	tr, err := TraceCreators(CreatorOptions{})
	require.NoError(t, err)
	defer tr.Close()
	churn := testenv.Build(t, "./bench/churn")
	for range 2 {
		cmd := exec.Command(churn, "-name", "core-twins", "-udp", "100")
		cmd.Stderr = os.Stderr
		testenv.Start(t, cmd)
	}
	_, err = tr.Sample()
	require.NoError(t, err)
	time.Sleep(time.Second)
	s, err := tr.Sample()
	require.NoError(t, err)
	twins := find(t, s, "core-twins")
	require.Equal(t, 2, twins.Processes)
	require.InDelta(t, 200, twins.UDP, 20)
	require.InDelta(t, 200, twins.PerSecond(), 20)
	first := twins.Created

	// Many names, one socket each, then more than maxTotals in the totals.
	for i := range maxTotals + 10 {
		tr.created[creatorKey{fmt.Sprintf("quiet-%d", i), "root"}] = 1
	}
	time.Sleep(200 * time.Millisecond)
	s, err = tr.Sample()
	require.NoError(t, err)
	require.Greater(t, find(t, s, "core-twins").Created, first, "the counter grows")
	require.LessOrEqual(t, len(tr.created), len(s.ByProcess)+1)
	for k := range tr.created {
		require.False(t, strings.HasPrefix(k.name, "quiet-"), "quiet name %s kept", k.name)
	}
}

func find(t *testing.T, s *Creators, name string) Creator {
	t.Helper()
	for _, c := range s.ByProcess {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no creator %q in %+v", name, s.ByProcess)
	return Creator{}
}

// A passwd that cannot be read is said, and the interval's counts are kept,
// their users named by uid.
func TestCreatorTracerUnreadablePasswd(t *testing.T) {
	tr, err := TraceCreators(CreatorOptions{PasswdFile: t.TempDir()}) // a directory: EISDIR
	require.NoError(t, err)
	defer tr.Close()
	cmd := exec.Command(testenv.Build(t, "./bench/churn"), "-name", "core-nopasswd", "-udp", "100")
	cmd.Stderr = os.Stderr
	testenv.Start(t, cmd)
	time.Sleep(500 * time.Millisecond)
	s, err := tr.Sample()
	require.NoError(t, err)
	require.Len(t, s.Errors, 1)
	c := find(t, s, "core-nopasswd")
	require.Equal(t, "0", c.User)
	require.Positive(t, c.UDP)
}
