//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// telegraf is a real Telegraf running inputs.execd -> telegraf-sockwatch ->
// outputs.influxdb.
type telegraf struct {
	*process
}

// The agent collects and flushes every second so that a few intervals take a
// few seconds. The host is named explicitly so that the test knows the tag
// value the dashboard's host variable must offer.
const telegrafConfig = `[agent]
  interval = "1s"
  round_interval = false
  flush_interval = "1s"
  flush_jitter = "0s"
  collection_jitter = "0s"
  hostname = %[1]q
  omit_hostname = false

[[outputs.influxdb]]
  urls = [%[2]q]
  database = %[3]q
  skip_database_creation = true
  timeout = "5s"

# This host, owners on: every panel but the beancounter ones. Gathering
# when Telegraf asks, as packaging/telegraf-execd.conf sets it up.
[[inputs.execd]]
  command = [%[4]q, "-config", %[5]q, "-poll_interval_disabled"]
  signal = "STDIN"
  restart_delay = "1s"
  data_format = "influx"

# An OpenVZ node captured in testdata, as a second host: the beancounter
# panels.
[[inputs.execd]]
  command = [%[4]q, "-config", %[6]q, "-poll_interval_disabled"]
  signal = "STDIN"
  restart_delay = "1s"
  data_format = "influx"
  [inputs.execd.tags]
    host = %[7]q
`

// The sockwatch configurations the execd shim reads.
const (
	hostPluginConfig = "[[inputs.sockwatch]]\n  owners = true\n  creators = true\n"
	// The fixture has no processes, so no owners.
	fixturePluginConfig = "[[inputs.sockwatch]]\n  proc_root = %q\n"
)

const (
	e2eHost     = "sockwatch-e2e"  // the agent's host tag
	fixtureHost = "openvz-fixture" // the host tag of the OpenVZ fixture's metrics
	fixtureDir  = "testdata/openvz-host"
	database    = "telegraf"
)

// startTelegraf starts Telegraf writing to db on server.
func startTelegraf(t *testing.T, server *influxd) *telegraf {
	t.Helper()
	tg := testenv.Telegraf(t)
	plugin := testenv.Build(t, "./cmd/telegraf-sockwatch")

	dir := t.TempDir()
	hostConf := filepath.Join(dir, "sockwatch-host.conf")
	fixtureConf := filepath.Join(dir, "sockwatch-openvz.conf")
	conf := filepath.Join(dir, "telegraf.conf")
	fixture := filepath.Join(testenv.ModuleRoot(t), fixtureDir)
	require.NoError(t, os.WriteFile(hostConf, []byte(hostPluginConfig), 0o644))
	require.NoError(t, os.WriteFile(fixtureConf, fmt.Appendf(nil, fixturePluginConfig, fixture), 0o644))
	require.NoError(t, os.WriteFile(conf, fmt.Appendf(nil, telegrafConfig,
		e2eHost, server.URL, database, plugin, hostConf, fixtureConf, fixtureHost), 0o644))

	return &telegraf{startProcess(t, "telegraf", exec.Command(tg, "--config", conf), filepath.Join(dir, "telegraf.log"))}
}

// waitPoints waits until the server holds at least n points of the sockwatch
// measurement for each host, or fails after timeout.
func (s *telegraf) waitPoints(t *testing.T, server *influxd, n int, timeout time.Duration, hosts ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, host := range hosts {
		q := fmt.Sprintf(`SELECT count("sockets_used") FROM "sockwatch" WHERE "host" = '%s'`, host)
		for {
			got := 0
			if r := server.query(t, database, q); len(r.Series) == 1 && len(r.Series[0].Values) == 1 {
				got, _ = strconv.Atoi(fmt.Sprint(r.Series[0].Values[0][1]))
			}
			if got >= n {
				break
			}
			select {
			case err := <-s.done:
				t.Fatalf("telegraf exited: %v\n%s", err, s.logText())
			default:
			}
			require.Truef(t, time.Now().Before(deadline),
				"%d of %d points of host %s within %s\ntelegraf log:\n%s", got, n, host, timeout, s.logText())
			time.Sleep(250 * time.Millisecond)
		}
	}
}

// stop stops Telegraf with SIGTERM, which flushes its outputs, and requires
// a clean exit.
func (s *telegraf) stop(t *testing.T) {
	t.Helper()
	s.process.stop(t)
	// Errors of the plugin (its stderr) and of the output are logged as E!.
	require.NotRegexp(t, `(?m)^\S+ E! `, s.logText(), "telegraf logged errors")
}
