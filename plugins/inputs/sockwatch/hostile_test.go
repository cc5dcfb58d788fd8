//go:build linux

package sockwatch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/influxdata/telegraf"
	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// hostileCtids are container IDs as user_beancounters may print them: any
// bytes but blanks (the parser splits at spaces and tabs) and ":". Virtuozzo
// 7 names containers by UUID or by name, which the host's admin chooses.
var hostileCtids = []string{`web'01=x|y`, `back\`, `a\,b`, `q"uote`, "\xff\xfe", "bell\x07", "é", `c=1,d=2`, `\`}

// TestGatherHostileBeancounters: a user_beancounters whose container IDs and
// resource names hold quotes, "=", ",", backslashes and bytes that are not
// UTF-8 gives line protocol that Telegraf's own parser reads back as one
// metric per row with the tags the plugin meant.
func TestGatherHostileBeancounters(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "net"), 0o755))
	sockstat, err := os.ReadFile(filepath.Join(scenario(t, "openvz-host"), "net", "sockstat"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "net", "sockstat"), sockstat, 0o644))
	var bc strings.Builder
	bc.WriteString("Version: 2.5\n       uid  resource held maxheld barrier limit failcnt\n")
	for _, id := range hostileCtids {
		bc.WriteString("  " + id + ":  numothersock 1 2 3 4 5\n")
		bc.WriteString("        odd\\res=,\xff 1 2 3 4 5\n")
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "user_beancounters"), []byte(bc.String()), 0o644))

	acc := gather(t, newPlugin(t, root))
	require.Empty(t, acc.Errors)
	seen := map[string]int{}
	for _, m := range acc.GetTelegrafMetrics() {
		if m.Name() != "sockwatch_beancounter" {
			continue
		}
		back, lp := roundTrip(t, m)
		require.Equal(t, m.Tags(), back.Tags(), "%q", lp)
		require.Contains(t, []string{"numothersock", `odd\x5cres=,\xff`}, back.Tags()["resource"], "%q", lp)
		require.Equal(t, map[string]any{"held": int64(1), "maxheld": int64(2), "barrier": int64(3), "limit": int64(4),
			"failcnt": int64(5), "used_percent": 100.0 / 3}, back.Fields(), "%q", lp)
		seen[back.Tags()["ctid"]]++
	}
	require.Len(t, seen, len(hostileCtids), "one ctid tag per container: %v", seen)
	for _, id := range hostileCtids {
		require.Equal(t, 2, seen[tagValue(id)], "container %q", id)
	}
}

// TestBinaryHostileOwners runs the execd binary with owners on while the
// helper of TestGatherOwnersLive, named "w'=1\n|x", listens on a path with a
// space, a newline, quotes, "=", "," and a byte that is not UTF-8: the
// binary's real stdout is one metric per line for Telegraf's own parser,
// with the owner and the path as tagValue spells them.
func TestBinaryHostileOwners(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d=1,\xff\"q")
	require.NoError(t, os.Mkdir(dir, 0o755))
	testenv.StartHelper(t, ownerHelperEnv+"="+dir)

	conf := writeFile(t, "sockwatch.conf", "[[inputs.sockwatch]]\n  proc_root = \"/proc\"\n  owners = true\n  owners_top = 1000\n")
	stdout, stderr, code := testenv.Run(t, command(t, time.Minute, nil, binary(t), "-config", conf, "-once"))
	require.Empty(t, stderr)
	require.Equal(t, 0, code)
	require.True(t, utf8.ValidString(stdout), "line protocol must be UTF-8")
	metrics := parseLines(t, stdout)
	require.Len(t, metrics, strings.Count(stdout, "\n"), "one metric per line")

	var owner, path telegraf.Metric
	for _, m := range metrics {
		if v, _ := m.GetTag("process_name"); m.Name() == "sockwatch_owner" && v == `w'=1\x0a|x` {
			owner = m
		}
		if v, _ := m.GetTag("path"); m.Name() == "sockwatch_unix_path" && v == tagValue(filepath.Join(dir, "php fpm\n'x'=1.sock")) {
			path = m
		}
	}
	require.NotNil(t, owner, "no owner for the helper in:\n%s", stdout)
	require.Equal(t, ownerHelperFields, owner.Fields())
	require.NotNil(t, path, "no unix path for the helper's listener in:\n%s", stdout)
	require.Equal(t, map[string]any{"sockets": int64(5)}, path.Fields())
}
