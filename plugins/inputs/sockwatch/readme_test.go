//go:build linux

package sockwatch

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/plugins/common/shim"
	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// Every field and tag a gather emits is documented, and every documented one
// is emitted by one of the proc trees: together they cover every source.
func TestReadmeDocumentsEveryField(t *testing.T) {
	emitted := map[string]testenv.Documented{}
	for _, tree := range []string{"quiet-host", "openvz-container", "tcp-mem-pressure"} {
		acc := gather(t, newPlugin(t, scenario(t, tree)))
		require.Empty(t, acc.Errors)
		collect(emitted, acc)
	}
	// The namespace and cgroup series, from their trees (whose faults are
	// tested with them).
	s := newPlugin(t, scenario(t, "netns-containers"))
	s.Namespaces, s.Cgroups, s.CgroupsTop, s.CgroupRoot = true, true, 10, scenario(t, "cgroup-v2")
	require.NoError(t, s.Init())
	acc := gather(t, s)
	require.Len(t, acc.Errors, 3)
	collect(emitted, acc)
	// The owner series come from a live scan; a bound UNIX socket makes
	// sure there is a path to report.
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "doc.sock"))
	require.NoError(t, err)
	defer l.Close()
	// The live namespaces have net/unix, which the tree lacks.
	live := &Sockwatch{ProcRoot: "/proc", Counters: true, Owners: true, OwnersTop: 3, Namespaces: true, Log: testutil.Logger{}}
	require.NoError(t, live.Init())
	acc = gather(t, live)
	require.Empty(t, acc.Errors)
	collect(emitted, acc)
	// The creators, from a live trace of a generator that creates sockets
	// of every family and makes DNS lookups.
	creators := creatorsPlugin(t)
	testenv.Churn(t, "-udp", "100", "-unix", "100", "-tcp", "100", "-dns", "100")
	time.Sleep(200 * time.Millisecond)
	acc = gather(t, creators)
	require.Empty(t, acc.Errors)
	collect(emitted, acc)
	readme := testenv.ReadmeMetrics(t, "README.md")
	// sockwatch_memory_limit needs a protocol's memory limit hit, which
	// needs a global limit lowered: the drill TestMemoryLimitHits checks
	// that series against the README.
	delete(readme, "sockwatch_memory_limit")
	require.Len(t, readme, 8, "series in README")
	require.Len(t, readme["sockwatch"].Fields, 61, "fields of sockwatch in README")
	require.Len(t, readme["sockwatch per network namespace"].Fields, 28, "fields of the per-namespace series in README")
	require.Equal(t, readme, emitted)
}

// seriesName is how the README names the series of m: its measurement, and
// "sockwatch per network namespace" for the series tagged netns.
func seriesName(m telegraf.Metric) string {
	if m.HasTag("netns") {
		return m.Name() + " per network namespace"
	}
	return m.Name()
}

// collect adds the series, tags and fields of acc to emitted.
func collect(emitted map[string]testenv.Documented, acc *testutil.Accumulator) {
	for _, m := range acc.GetTelegrafMetrics() {
		d, ok := emitted[seriesName(m)]
		if !ok {
			d = testenv.Documented{Tags: map[string]bool{}, Fields: map[string]bool{}}
			emitted[seriesName(m)] = d
		}
		for k := range m.Tags() {
			d.Tags[k] = true
		}
		for k := range m.Fields() {
			d.Fields[k] = true
		}
	}
}

// The README shows sample.conf verbatim, as Telegraf's generator would.
func TestReadmeShowsSampleConf(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, block, ok := strings.Cut(string(readme), "```toml @sample.conf\n")
	require.True(t, ok, "no ```toml @sample.conf block in README.md")
	block, _, ok = strings.Cut(block, "```\n")
	require.True(t, ok)
	require.Equal(t, sampleConfig, block)
}

// The options sample.conf documents, uncommented, are the plugin's own:
// the shim, as telegraf-sockwatch runs it, decodes them into the plugin.
func TestSampleConfOptions(t *testing.T) {
	conf := strings.ReplaceAll(sampleConfig, "  # ", "  ")
	conf = strings.Replace(conf, `proc_root = "/proc"`, `proc_root = "`+scenario(t, "quiet-host")+`"`, 1)
	conf = strings.Replace(conf, "counters = true", "counters = false", 1)
	conf = strings.Replace(conf, "namespaces = false", "namespaces = true", 1)
	conf = strings.Replace(conf, "cgroups = false", "cgroups = true", 1)
	conf = strings.Replace(conf, "cgroups_top = 10", "cgroups_top = 3", 1)
	conf = strings.Replace(conf, `cgroup_root = "/sys/fs/cgroup"`, `cgroup_root = "`+scenario(t, "cgroup-v2")+`"`, 1)
	path := writeFile(t, "sockwatch.conf", conf)
	loaded, err := shim.LoadConfig(&path)
	require.NoError(t, err)
	s, ok := loaded.Input.(*Sockwatch)
	require.True(t, ok, "%T", loaded.Input)
	require.Equal(t, scenario(t, "quiet-host"), s.ProcRoot)
	require.False(t, s.Counters)
	require.True(t, s.Namespaces)
	require.True(t, s.Cgroups)
	require.Equal(t, 3, s.CgroupsTop)
	require.Equal(t, scenario(t, "cgroup-v2"), s.CgroupRoot)
	s.Log = testutil.Logger{}
	require.NoError(t, s.Init())
}
