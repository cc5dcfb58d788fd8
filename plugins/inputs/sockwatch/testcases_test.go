//go:build linux

package sockwatch

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/influxdata/telegraf/config"
	"github.com/influxdata/telegraf/testutil"
	expect "github.com/influxdata/telegraf/testutil/plugin_input"
	"github.com/stretchr/testify/require"
)

// TestCases gathers once with each testcases/<case>/telegraf.conf and
// compares, time aside, with expected.out: line protocol, the value type of
// each line in its _type tag (gauge, counter), as Telegraf's parser tests
// write it. The errors of the gather are expected.err, one a line, in any
// order; a case without that file expects none. A proc_root in telegraf.conf
// is relative to this package's directory, where go test runs, so that the
// errors read as the plugin writes them.
func TestCases(t *testing.T) {
	folders, err := os.ReadDir("testcases")
	require.NoError(t, err)
	require.NotEmpty(t, folders)
	for _, f := range folders {
		if !f.IsDir() {
			continue
		}
		dir := filepath.Join("testcases", f.Name())
		t.Run(f.Name(), func(t *testing.T) {
			cfg := config.NewConfig()
			require.NoError(t, cfg.LoadConfig(filepath.Join(dir, "telegraf.conf")))
			require.Len(t, cfg.Inputs, 1)
			plugin, ok := cfg.Inputs[0].Input.(*Sockwatch)
			require.True(t, ok, "%T", cfg.Inputs[0].Input)
			plugin.Log = testutil.Logger{}
			require.NoError(t, plugin.Init())
			// The page size the trees were composed for, whatever the host's.
			plugin.reader.PageSize = 4096

			// Telegraf's test input reads expected.out and expected.err.
			want := &expect.Plugin{Path: dir, UseTypeTag: "_type"}
			require.NoError(t, want.Init())

			var acc testutil.Accumulator
			require.NoError(t, plugin.Gather(&acc))
			errs := make([]string, 0, len(acc.Errors))
			for _, err := range acc.Errors {
				errs = append(errs, err.Error())
			}
			require.ElementsMatch(t, want.ExpectedErrors, errs)
			testutil.RequireMetricsEqual(t, want.Expected, acc.GetTelegrafMetrics(),
				testutil.SortMetrics(), testutil.IgnoreTime())
		})
	}
}
