//go:build drill

package drills

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch"
	"github.com/sockwatch/sockwatch/internal/testenv"
	plugin "github.com/sockwatch/sockwatch/plugins/inputs/sockwatch"
)

// TestMemoryLimitHits: with tcp_mem lowered for a few seconds to lines 50,
// 100 and 200 pages above the host's TCP memory, the drill's process opens
// connections whose senders fill their buffers, so that the kernel refuses
// them socket memory (sock:sock_exceed_buf_limit). The eBPF creators must
// name that process, its user and TCP with the hits the kernel made: the
// core, the check's --trace (long output) and the Telegraf plugin
// (sockwatch_memory_limit, as its README documents it).
func TestMemoryLimitHits(t *testing.T) {
	n := startNS(t, "drill-memlimit", "drill-memlimit")
	port := n.DoInt("tcp-listen hold 0")
	tr, err := sockwatch.TraceCreators(sockwatch.CreatorOptions{})
	require.NoError(t, err)
	defer tr.Close()
	_, err = tr.Sample()
	require.NoError(t, err)
	p := &plugin.Sockwatch{ProcRoot: "/proc", Creators: true, CreatorsTop: 10, Log: testutil.Logger{}}
	require.NoError(t, p.Init())
	defer p.Stop()
	require.NoError(t, p.Gather(&testutil.Accumulator{}))

	// The check traces for 4 seconds from before the first fill.
	check := exec.Command(testenv.Build(t, "./cmd/check_sockwatch"), "--trace", "4", "-t", "60",
		"--state-file", filepath.Join(n.Dir, "check.state"))
	var checkOut []byte
	checked := make(chan error, 1)
	go func() {
		var err error
		checkOut, err = check.Output()
		checked <- err
	}()
	time.Sleep(500 * time.Millisecond) // the check attaches its programs

	base := mem(n.Sockstat())
	lines := [3]int64{base + 50, base + 100, base + 200}
	restore := lowerGlobal(t, 30*time.Second, []string{"net/ipv4/tcp_mem"},
		[]string{fmt.Sprintf("%d %d %d", lines[0], lines[1], lines[2])})
	var hits int64
	var seen []sockwatch.MemoryLimit
	for conns := 0; hits == 0; conns += 4 {
		require.Less(t, conns, 400, "no memory-limit hit with 400 connections past tcp_mem's max line")
		n.Do("fill %d %d 65536", port, 4)
		time.Sleep(20 * time.Millisecond)
		s, err := tr.Sample()
		require.NoError(t, err)
		for _, m := range s.MemoryLimits {
			seen = append(seen, m)
			if m.Name == "drill-memlimit" && m.User == "root" && m.Protocol == "TCP" {
				hits = m.Hits
				require.Positive(t, m.PerSecond)
			}
		}
	}
	restore()
	t.Logf("tcp_mem %v pages (host at %d): memory-limit hits %+v", lines, base, seen)

	var acc testutil.Accumulator
	require.NoError(t, p.Gather(&acc))
	var found bool
	readme := testenv.ReadmeMetrics(t, filepath.Join(testenv.ModuleRoot(t), "plugins/inputs/sockwatch/README.md"))
	doc := readme["sockwatch_memory_limit"]
	for _, m := range acc.GetTelegrafMetrics() {
		if m.Name() != "sockwatch_memory_limit" {
			continue
		}
		for k := range m.Tags() {
			require.True(t, doc.Tags[k], "tag %s of sockwatch_memory_limit not in the plugin README", k)
		}
		for k := range m.Fields() {
			require.True(t, doc.Fields[k], "field %s of sockwatch_memory_limit not in the plugin README", k)
		}
		if m.Tags()["process_name"] == "drill-memlimit" && m.Tags()["protocol"] == "TCP" {
			found = true
		}
	}
	require.True(t, found, "plugin: no sockwatch_memory_limit of drill-memlimit:\n%v", acc.GetTelegrafMetrics())
	require.Len(t, doc.Tags, 3, "tags documented")
	require.Len(t, doc.Fields, 2, "fields documented")

	require.NoError(t, <-checked, "check:\n%s", checkOut)
	t.Logf("check --trace 4:\n%s", checkOut)
	require.Regexp(t, regexp.MustCompile(`(?m)^  memory limit hit: drill-memlimit \(root\) TCP: \d+/s, \d+ in all$`), string(checkOut))
}
