//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// influxd is a private InfluxDB 1.x server (Debian's influxd), started on
// loopback with all of its state in a temporary directory, so that the test
// neither needs nor disturbs the system service.
type influxd struct {
	*process
	URL string // http://127.0.0.1:port
}

// The server's configuration: every listener but HTTP off, no usage
// reporting, no self-monitoring database, no background services that could
// change the data under the test.
const influxdConfig = `reporting-enabled = false
bind-address = "127.0.0.1:%d"

[meta]
  dir = "%[2]s/meta"
  logging-enabled = false

[data]
  dir = "%[2]s/data"
  wal-dir = "%[2]s/wal"
  query-log-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[continuous_queries]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:%[3]d"
  log-enabled = false
  pprof-enabled = false

[logging]
  level = "warn"
  suppress-logo = true
`

// startInfluxd starts influxd, waits until /ping answers, and registers a
// cleanup that stops it; stop does so earlier and checks the exit.
func startInfluxd(t *testing.T) *influxd {
	t.Helper()
	bin, err := exec.LookPath("influxd")
	require.NoError(t, err, "influxd (Debian package influxdb) is needed: run scripts/deps.sh")

	dir := t.TempDir()
	rpcPort, httpPort := freePort(t), freePort(t)
	conf := filepath.Join(dir, "influxdb.conf")
	require.NoError(t, os.WriteFile(conf, fmt.Appendf(nil, influxdConfig, rpcPort, dir, httpPort), 0o644))

	cmd := exec.Command(bin, "run", "-config", conf)
	// The package's environment file can set INFLUXDB_* overrides; the
	// test's configuration must be the only one.
	cmd.Env = withoutPrefix(os.Environ(), "INFLUXDB_")
	s := &influxd{process: startProcess(t, "influxd", cmd, filepath.Join(dir, "influxd.log")),
		URL: fmt.Sprintf("http://127.0.0.1:%d", httpPort)}

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				break
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("influxd exited before answering /ping: %v\n%s", err, s.logText())
		default:
		}
		require.Truef(t, time.Now().Before(deadline), "influxd did not answer /ping within 30s: %v\n%s", err, s.logText())
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

// queryResult is the JSON answer of InfluxDB 1.x's /query to one statement.
type queryResult struct {
	Error  string   `json:"error"`
	Series []series `json:"series"`
}

type series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// query runs one InfluxQL statement on db ("" for none) and returns its
// result; an error of the server or of the statement fails the test.
func (s *influxd) query(t *testing.T, db, q string) queryResult {
	t.Helper()
	form := url.Values{"q": {q}, "epoch": {"ms"}}
	if db != "" {
		form.Set("db", db)
	}
	resp, err := http.PostForm(s.URL+"/query", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equalf(t, http.StatusOK, resp.StatusCode, "query %s: %s", q, body)
	var out struct {
		Results []queryResult `json:"results"`
		Error   string        `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &out), "query %s: %s", q, body)
	require.Emptyf(t, out.Error, "query %s", q)
	require.Lenf(t, out.Results, 1, "query %s: %s", q, body)
	require.Emptyf(t, out.Results[0].Error, "query %s", q)
	return out.Results[0]
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func withoutPrefix(env []string, prefix string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}
