//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

const grafanaDashboard = "plugins/inputs/sockwatch/dashboards/grafana-influxql.json"

// grafana is the part of a Grafana dashboard the test reads.
type grafana struct {
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query string `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			RefID string `json:"refId"`
			Query string `json:"query"`
		} `json:"targets"`
	} `json:"panels"`
}

// want is what one panel query must return on the real server: the columns
// in order, the tags it groups by, and the host whose series must be among
// the rows (the beancounter panels draw from the OpenVZ fixture).
type want struct {
	columns []string
	tags    []string
	host    string
	// held, when set, checks the rows of the sockets the test holds.
	held func(t *testing.T, h heldSockets, r queryResult)
}

// wants lists every query of the Grafana dashboard by "panel title/refId".
var wants = map[string]want{
	"Sockets by protocol/A": {
		columns: []string{"time", "sockets_used", "tcp", "tcp6", "udp", "udp6", "raw", "unix"},
		tags:    []string{"host"}, host: e2eHost,
	},
	"Usage of kernel limits/A": {
		columns: []string{"time", "tcp_mem", "udp_mem", "orphans_4x", "time_wait", "files"},
		tags:    []string{"host"}, host: e2eHost,
	},
	"numothersock against its barrier/A": {
		columns: []string{"time", "numothersock"},
		tags:    []string{"host"}, host: e2eHost,
	},
	"numothersock against its barrier/B": {
		columns: []string{"time", "held", "barrier", "limit"},
		tags:    []string{"ctid", "host"}, host: fixtureHost,
	},
	"Beancounter refusals/A": {
		columns: []string{"time", "refused"},
		tags:    []string{"ctid", "host", "resource"}, host: fixtureHost,
	},
	"TCP orphans against the limit/A": {
		columns: []string{"time", "orphans", "tcp_max_orphans", "limit_under_4x_penalty"},
		tags:    []string{"host"}, host: e2eHost,
	},
	"TCP memory against pressure and max/A": {
		columns: []string{"time", "tcp_mem", "pressure", "max"},
		tags:    []string{"host"}, host: e2eHost,
	},
	"Socket memory/A": {
		columns: []string{"time", "tcp", "udp", "frag"},
		tags:    []string{"host"}, host: e2eHost,
	},
	"TIME_WAIT against its bucket limit/A": {
		columns: []string{"time", "time_wait", "tcp_max_tw_buckets"},
		tags:    []string{"host"}, host: e2eHost,
	},
	"Kernel socket events/A": {
		columns: []string{"time", "aborts_on_memory", "memory_pressure_entries", "time_wait_overflows"},
		tags:    []string{"host"}, host: e2eHost,
	},
	"UDP sockets held by DNS lookups/A": {
		columns: []string{"time", "dns", "udp"},
		tags:    []string{"host"}, host: e2eHost,
		held: func(t *testing.T, h heldSockets, r queryResult) {
			row := lastRow(t, r, map[string]string{"host": e2eHost})
			require.GreaterOrEqual(t, row["dns"], 1.0, "the test's UDP socket connected to port 53")
		},
	},
	"Top socket owners/A": {
		columns: []string{"time", "sockets", "unix", "tcp", "udp", "dns", "raw", "netlink", "other", "processes"},
		tags:    []string{"host", "process_name", "user"}, host: e2eHost,
		held: func(t *testing.T, h heldSockets, r queryResult) {
			me, err := user.Current()
			require.NoError(t, err)
			row := lastRow(t, r, map[string]string{"host": e2eHost, "process_name": processName(t), "user": me.Username})
			require.GreaterOrEqual(t, row["unix"], float64(h.unix))
			require.GreaterOrEqual(t, row["udp"], 1.0)
			require.GreaterOrEqual(t, row["dns"], 1.0)
			require.GreaterOrEqual(t, row["raw"], 1.0)
			require.GreaterOrEqual(t, row["netlink"], 1.0)
			require.GreaterOrEqual(t, row["sockets"], float64(h.unix+4))
			require.GreaterOrEqual(t, row["processes"], 1.0)
		},
	},
	"Socket creation by process/A": {
		columns: []string{"time", "created_per_second", "dns_lookups_per_second"},
		tags:    []string{"host", "process_name", "user"}, host: e2eHost,
		held: func(t *testing.T, _ heldSockets, r queryResult) {
			// A lookup is a UDP socket: both at the generator's rate.
			row := lastRow(t, r, map[string]string{"host": e2eHost, "process_name": dnsProcess, "user": "root"})
			require.InDelta(t, dnsRate, row["dns_lookups_per_second"], dnsRate/10)
			require.InDelta(t, dnsRate, row["created_per_second"], dnsRate/10)
		},
	},
	"Memory-limit hits/A": {
		columns: []string{"time", "hits_per_second"},
		tags:    []string{"host", "process_name", "user", "protocol"}, host: e2eHost,
		held: func(t *testing.T, _ heldSockets, r queryResult) {
			row := lastRow(t, r, map[string]string{"host": e2eHost, "process_name": fillProcess, "user": "root", "protocol": "TCP"})
			require.Greater(t, row["hits_per_second"], 0.0)
		},
	},
	"Top UNIX socket paths/A": {
		columns: []string{"time", "sockets"},
		tags:    []string{"host", "path"}, host: e2eHost,
		held: func(t *testing.T, h heldSockets, r queryResult) {
			// The listener and the connections it accepted carry the path.
			row := lastRow(t, r, map[string]string{"host": e2eHost, "path": h.unixPath})
			require.GreaterOrEqual(t, row["sockets"], float64(1+heldUnixClients))
		},
	},
}

// lastRow returns the last row, by column, of the series with the given
// tags, failing the test when there is none.
func lastRow(t *testing.T, r queryResult, tags map[string]string) map[string]any {
	t.Helper()
	for _, s := range r.Series {
		match := true
		for k, v := range tags {
			match = match && s.Tags[k] == v
		}
		if match && len(s.Values) > 0 {
			row := map[string]any{}
			for i, c := range s.Columns {
				row[c] = s.Values[len(s.Values)-1][i]
			}
			return row
		}
	}
	var got []map[string]string
	for _, s := range r.Series {
		got = append(got, s.Tags)
	}
	t.Fatalf("no series tagged %v among %v", tags, got)
	return nil
}

// processName is the test process's name as the kernel reports it, the
// process_name the plugin tags its sockets with.
func processName(t *testing.T) string {
	t.Helper()
	comm, err := os.ReadFile("/proc/self/comm")
	require.NoError(t, err)
	return strings.TrimSuffix(string(comm), "\n")
}

// TestGrafanaDashboardOnRealServers runs Telegraf with the sockwatch execd
// plugin into a real InfluxDB 1.x for a few intervals, then runs every query
// of the Grafana dashboard, with Grafana's macros filled in as Grafana does,
// and requires rows with the expected columns from each.
func TestGrafanaDashboardOnRealServers(t *testing.T) {
	var dash grafana
	data, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), grafanaDashboard))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &dash))

	held := holdSockets(t)
	startCreatorsLoad(t)
	server := startInfluxd(t)
	server.query(t, "", "CREATE DATABASE "+database)
	start := time.Now().Add(-time.Minute)
	tg := startTelegraf(t, server)
	// Five intervals: enough for the rates, which need two points per series.
	tg.waitPoints(t, server, 5, 90*time.Second, e2eHost, fixtureHost)
	tg.stop(t)
	end := time.Now().Add(time.Minute)

	t.Run("host variable", func(t *testing.T) {
		var q string
		for _, v := range dash.Templating.List {
			if v.Name == "host" {
				q = v.Query
			}
		}
		require.NotEmpty(t, q, "the dashboard has no host variable")
		r := server.query(t, database, q)
		require.Len(t, r.Series, 1, "query %s", q)
		var hosts []string
		for _, row := range r.Series[0].Values {
			hosts = append(hosts, fmt.Sprint(row[1]))
		}
		require.ElementsMatch(t, []string{e2eHost, fixtureHost}, hosts)
	})

	macros := strings.NewReplacer(
		"$timeFilter", fmt.Sprintf("time >= %dms and time <= %dms", start.UnixMilli(), end.UnixMilli()),
		"$__interval", "1s",
		// The host variable with both hosts selected, as Grafana renders a
		// multi-value variable inside a regex.
		"$host", "("+regexp.QuoteMeta(e2eHost)+"|"+regexp.QuoteMeta(fixtureHost)+")",
	)
	seen := map[string]bool{}
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, target := range p.Targets {
			key := p.Title + "/" + target.RefID
			seen[key] = true
			t.Run(key, func(t *testing.T) {
				w, ok := wants[key]
				require.Truef(t, ok, "no expectation for dashboard query %s: add it to wants", key)
				q := macros.Replace(target.Query)
				require.NotRegexp(t, `\$\w`, q, "a Grafana macro or variable left unreplaced")
				r := server.query(t, database, q)
				rows := 0
				for _, s := range r.Series {
					rows += len(s.Values)
				}
				t.Logf("panel %q query %s: %d series, %d rows", p.Title, target.RefID, len(r.Series), rows)
				requireRows(t, q, r, w)
				if w.held != nil {
					w.held(t, held, r)
				}
			})
		}
	}
	for key := range wants {
		require.Truef(t, seen[key], "expectation %s matches no dashboard query", key)
	}

	server.stop(t)
}

// requireRows checks a panel query's result against w.
func requireRows(t *testing.T, q string, r queryResult, w want) {
	t.Helper()
	require.NotEmptyf(t, r.Series, "no rows from %s", q)
	rows, hostSeen := 0, false
	nonNull := map[string]bool{}
	for _, s := range r.Series {
		require.Equal(t, w.columns, s.Columns, "columns of %s", q)
		var tags []string
		for k := range s.Tags {
			tags = append(tags, k)
		}
		require.ElementsMatch(t, w.tags, tags, "tags of %s", q)
		if s.Tags["host"] == w.host {
			hostSeen = true
		}
		for _, row := range s.Values {
			rows++
			for i, v := range row {
				if v != nil {
					nonNull[s.Columns[i]] = true
				}
			}
		}
	}
	require.Positive(t, rows, "no rows from %s", q)
	require.Truef(t, hostSeen, "no series of host %s from %s", w.host, q)
	for _, c := range w.columns {
		require.Truef(t, nonNull[c], "column %s is null in every row of %s: is the field sent?", c, q)
	}
}
