//go:build linux

package sockwatch

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/metric"
	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	core "github.com/sockwatch/sockwatch"
)

// cgroupPlugin returns an initialized plugin over the quiet host with
// cgroups on, reading cgroupRoot.
func cgroupPlugin(t *testing.T, cgroupRoot string, top int, log telegraf.Logger) *Sockwatch {
	t.Helper()
	s := &Sockwatch{ProcRoot: scenario(t, "quiet-host"), Counters: true, Cgroups: true, CgroupsTop: top,
		CgroupRoot: cgroupRoot, Log: log}
	require.NoError(t, s.Init())
	return s
}

func cgroupMetric(path string, bytes, own int64) telegraf.Metric {
	return metric.New("sockwatch_cgroup", map[string]string{"cgroup": path},
		map[string]any{"sock_bytes": bytes, "sock_own_bytes": own}, time.Unix(0, 0), telegraf.Gauge)
}

func cgroupSeries(acc *testutil.Accumulator) []telegraf.Metric {
	var out []telegraf.Metric
	for _, m := range acc.GetTelegrafMetrics() {
		if m.Name() == "sockwatch_cgroup" {
			out = append(out, m)
		}
	}
	return out
}

// testdata/cgroup-v2: the top cgroups by their own socket memory; a path
// with a space is a tag value like any other.
func TestGatherCgroupsFixture(t *testing.T) {
	s := cgroupPlugin(t, scenario(t, "cgroup-v2"), 4, testutil.Logger{})
	acc := gather(t, s)
	require.Empty(t, acc.Errors)
	testutil.RequireMetricsEqual(t, []telegraf.Metric{
		cgroupMetric("/system.slice/nginx.service", 1048576, 1048576),
		cgroupMetric("/user.slice/user-1000.slice/session-3.scope", 73728, 73728),
		cgroupMetric("/system.slice/php-fpm.service", 65536, 65536),
		cgroupMetric("/system.slice/odd name.scope", 8192, 8192),
	}, cgroupSeries(acc), testutil.IgnoreTime())

	acc = gather(t, cgroupPlugin(t, scenario(t, "cgroup-v2"), 1, testutil.Logger{}))
	require.Len(t, cgroupSeries(acc), 1, "cgroups_top")
}

// Without the memory controller on cgroup v2 (systemd's hybrid layout)
// there is no figure: said once in the log, not an error every interval,
// and the other series go on.
func TestGatherCgroupsWithoutSock(t *testing.T) {
	hybrid := scenario(t, "cgroup-hybrid")
	t.Setenv("HOST_SYS", hybrid)
	log := &testutil.CaptureLogger{}
	s := cgroupPlugin(t, "", 10, log)
	require.Equal(t, filepath.Join(hybrid, "fs", "cgroup", "unified"), s.cgroupRoot,
		"cgroup_root defaults to HOST_SYS's cgroup2 mount")
	for range 3 {
		acc := gather(t, s)
		require.Empty(t, acc.Errors)
		require.Empty(t, cgroupSeries(acc))
		require.True(t, acc.HasMeasurement("sockwatch"))
	}
	require.Len(t, log.Warnings(), 1)
	require.Contains(t, log.Warnings()[0], "the memory controller is not on cgroup v2 here")
	require.Contains(t, log.Warnings()[0], s.cgroupRoot)
}

// This host: the memory controller is on cgroup v1 (the development VM) or
// on v2; either way a gather says what it found, without an error.
func TestGatherCgroupsLive(t *testing.T) {
	t.Setenv("HOST_SYS", "")
	log := &testutil.CaptureLogger{}
	s := cgroupPlugin(t, "", 10, log)
	acc := gather(t, s)
	require.Empty(t, acc.Errors)
	_, err := core.ReadCgroupSockets(s.cgroupRoot, 10)
	if err != nil {
		require.ErrorIs(t, err, core.ErrNoCgroupSock)
		require.Empty(t, cgroupSeries(acc))
		require.Len(t, log.Warnings(), 1)
		return
	}
	require.NotEmpty(t, cgroupSeries(acc), "a cgroup v2 memory controller, and no socket memory in any cgroup?")
	require.Empty(t, log.Warnings())
}

func TestGatherCgroupsErrors(t *testing.T) {
	root := scenario(t, "cgroup-malformed")
	acc := gather(t, cgroupPlugin(t, root, 10, testutil.Logger{}))
	require.Len(t, acc.Errors, 1)
	require.EqualError(t, acc.Errors[0], filepath.Join(root, "bad.service", "memory.stat")+`:8: sock: "12x" is not a byte count`)
	require.True(t, acc.HasMeasurement("sockwatch"), "the host series goes on")

	for _, s := range []*Sockwatch{
		{ProcRoot: scenario(t, "quiet-host"), Cgroups: true, CgroupsTop: 10, CgroupRoot: filepath.Join(root, "nope")},
		{ProcRoot: scenario(t, "quiet-host"), Cgroups: true, CgroupsTop: 10, CgroupRoot: filepath.Join(root, "memory.stat")},
		{ProcRoot: scenario(t, "quiet-host"), Cgroups: true, CgroupsTop: 0, CgroupRoot: root},
	} {
		s.Log = testutil.Logger{}
		require.Error(t, s.Init(), "%+v", s)
	}
}
