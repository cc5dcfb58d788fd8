package nagios_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// TestHostileCtids: container IDs of user_beancounters are chosen by the
// host's admin on Virtuozzo 7 and may hold any byte but blanks and ":".
// Every container above its barrier is named in the output and carries
// performance data: the output stays valid UTF-8 with one "|" on its first
// line, and Monitoring::Plugin::Performance reads each item as the check
// meant it.
func TestHostileCtids(t *testing.T) {
	ctids := []string{`q"uote`, `back\`, "\xff\xfe", "é", `a=b,c;d`, `it's`, "bell\x07", "p|pe", "@", "-"}
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "net"), 0o755))
	sockstat, err := os.ReadFile(filepath.Join(fixture(t, "openvz-host"), "net", "sockstat"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "net", "sockstat"), sockstat, 0o644))
	var bc strings.Builder
	bc.WriteString("Version: 2.5\n       uid  resource held maxheld barrier limit failcnt\n")
	bc.WriteString("      0:  numothersock 10 20 9223372036854775807 9223372036854775807 0\n")
	for _, id := range ctids {
		bc.WriteString("  " + id + ":  numothersock 350 360 360 360 0\n")
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "user_beancounters"), []byte(bc.String()), 0o644))

	o := check(t, "--proc-root", root, "--state-file", filepath.Join(t.TempDir(), "s.json"))
	require.Equal(t, 2, o.code, o.all)
	require.True(t, utf8.ValidString(o.all), "output is not UTF-8:\n%q", o.all)
	first := strings.SplitN(o.all, "\n", 2)[0]
	require.Equal(t, 1, strings.Count(first, "|"), "one | on the first line: %q", first)
	items := perfItems(o.perf)
	// sockets_used, numothersock and its failcnt, orphans, tcp_mem, udp_mem,
	// tw (this tree has no file-nr nor netstat), and every container.
	require.Len(t, items, 7+len(ctids), o.perf)

	stdout, stderr, err := perfparse(o.perf + "\n")
	require.NoError(t, err, stderr)
	var got []perlItem
	require.NoError(t, json.Unmarshal(stdout, &got))
	require.Len(t, got, len(items), "Perl read %d items from %q", len(got), o.perf)
	labels := map[string]bool{}
	for i, item := range items {
		comparePerl(t, item, got[i])
		labels[got[i].Label] = true
	}
	require.Len(t, labels, len(items), "every label distinct: %v", labels)
	for _, id := range ctids {
		require.Contains(t, o.all, "container "+strings.NewReplacer("|", "¦", "\x07", "?").Replace(strings.ToValidUTF8(id, "?"))+" numothersock")
	}
}
