// Package dashboards holds the tests of the dashboards in this directory:
// grafana-influxql.json (Grafana, InfluxQL on InfluxDB 1.x), its queries
// stored in queries.influxql, and influxdb2-template.json (an InfluxDB 2
// template, Flux). The queries run against a real InfluxDB in e2e/.
package dashboards

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// grafana is the part of a Grafana dashboard the tests read.
type grafana struct {
	Templating struct {
		List []struct {
			Name       string      `json:"name"`
			Type       string      `json:"type"`
			Query      string      `json:"query"`
			Multi      bool        `json:"multi"`
			Datasource *datasource `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		Title      string      `json:"title"`
		Type       string      `json:"type"`
		Datasource *datasource `json:"datasource"`
		Targets    []struct {
			RefID        string      `json:"refId"`
			Query        string      `json:"query"`
			RawQuery     bool        `json:"rawQuery"`
			ResultFormat string      `json:"resultFormat"`
			Datasource   *datasource `json:"datasource"`
		} `json:"targets"`
	} `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// influxDataSource is the data source every query names: the dashboard's
// data source variable, so that importing needs no editing.
var influxDataSource = datasource{Type: "influxdb", UID: "${datasource}"}

func readGrafana(t *testing.T) grafana {
	t.Helper()
	data, err := os.ReadFile("grafana-influxql.json")
	require.NoError(t, err)
	var g grafana
	require.NoError(t, json.Unmarshal(data, &g))
	require.NotEmpty(t, g.Panels)
	return g
}

// storedQuery is one query of queries.influxql.
type storedQuery struct{ Panel, RefID, Query string }

// TestStoredQueriesMatchGrafana keeps queries.influxql, which people and
// tests run by hand, equal to the dashboard's queries.
func TestStoredQueriesMatchGrafana(t *testing.T) {
	g := readGrafana(t)
	var want []storedQuery
	for _, p := range g.Panels {
		for _, target := range p.Targets {
			want = append(want, storedQuery{p.Title, target.RefID, target.Query})
		}
	}

	data, err := os.ReadFile("queries.influxql")
	require.NoError(t, err)
	header := regexp.MustCompile(`^-- (.+) \[([A-Z])\]$`)
	var got []storedQuery
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := header.FindStringSubmatch(line)
		require.NotNilf(t, m, "queries.influxql line %d: want a \"-- <panel> [<refId>]\" header, got %q", i+1, line)
		require.Lessf(t, i+1, len(lines), "queries.influxql: no query after line %d", i+1)
		got = append(got, storedQuery{m[1], m[2], lines[i+1]})
		i++
	}
	for i := range min(len(want), len(got)) {
		require.Equalf(t, want[i], got[i], "query %d of queries.influxql differs from grafana-influxql.json", i+1)
	}
	require.Len(t, got, len(want), "queries in queries.influxql")
}

// TestGrafanaDashboard checks what Grafana needs to show every panel for the
// selected hosts: a data source variable, a multi-value host variable, and
// queries that use both along with the time range.
func TestGrafanaDashboard(t *testing.T) {
	g := readGrafana(t)
	vars := map[string]int{}
	for i, v := range g.Templating.List {
		vars[v.Name] = i
	}
	require.Contains(t, vars, "datasource")
	require.Equal(t, "datasource", g.Templating.List[vars["datasource"]].Type)
	require.Contains(t, vars, "host")
	host := g.Templating.List[vars["host"]]
	require.Equal(t, "query", host.Type)
	require.True(t, host.Multi, "the host variable selects several hosts")
	require.Equal(t, &influxDataSource, host.Datasource)
	require.Equal(t, `SHOW TAG VALUES FROM "sockwatch" WITH KEY = "host"`, host.Query)

	titles := map[string]bool{}
	for _, p := range g.Panels {
		require.Falsef(t, titles[p.Title], "two panels titled %q", p.Title)
		titles[p.Title] = true
		require.Containsf(t, []string{"timeseries", "table"}, p.Type, "panel %q", p.Title)
		require.Equalf(t, &influxDataSource, p.Datasource, "panel %q", p.Title)
		require.NotEmptyf(t, p.Targets, "panel %q has no query", p.Title)
		refs := map[string]bool{}
		for _, target := range p.Targets {
			where := p.Title + " [" + target.RefID + "]"
			require.Falsef(t, refs[target.RefID], "%s: refId used twice", where)
			refs[target.RefID] = true
			require.Equalf(t, &influxDataSource, target.Datasource, where)
			require.Truef(t, target.RawQuery, "%s: raw InfluxQL, so that the stored query is the one Grafana runs", where)
			q := target.Query
			require.Containsf(t, q, `"host" =~ /^$host$/`, "%s: filter on the host variable", where)
			require.Containsf(t, q, "$timeFilter", where)
			switch p.Type {
			case "timeseries":
				require.Equalf(t, "time_series", target.ResultFormat, where)
				require.Containsf(t, q, "GROUP BY time($__interval), ", where)
			case "table":
				require.Equalf(t, "table", target.ResultFormat, where)
			}
		}
	}
}

// influxQLNames are a query's measurement and the fields and tags it names:
// every double-quoted identifier but the aliases after AS, and the columns
// of a subquery that an outer query reads by those aliases.
type influxQLNames struct {
	measurement  string
	fields, tags []string
}

var quotedIdent = regexp.MustCompile(`(\bAS |\bFROM )?"([^"]+)"`)

// splitSubquery splits "SELECT ... FROM (SELECT ...) WHERE ..." into the
// outer query, without its FROM, and the subquery.
func splitSubquery(q string) (outer, inner string, ok bool) {
	i := strings.Index(q, "FROM (SELECT ")
	if i < 0 {
		return "", "", false
	}
	depth := 0
	for j := i + len("FROM "); j < len(q); j++ {
		switch q[j] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return q[:i] + q[j+1:], q[i+len("FROM (") : j], true
			}
		}
	}
	return "", "", false
}

func parseInfluxQL(t *testing.T, q string) influxQLNames {
	t.Helper()
	if outer, inner, ok := splitSubquery(q); ok {
		n := parseInfluxQL(t, inner)
		aliases := map[string]bool{}
		for _, m := range quotedIdent.FindAllStringSubmatch(inner, -1) {
			if m[1] == "AS " {
				aliases[m[2]] = true
			}
		}
		for _, m := range quotedIdent.FindAllStringSubmatch(outer, -1) {
			require.Truef(t, m[1] == "AS " || aliases[m[2]] || schema[n.measurement].tags[m[2]],
				"%q is neither a column of the subquery nor a tag of %s: %s", m[2], n.measurement, q)
		}
		return n
	}
	var n influxQLNames
	for _, m := range quotedIdent.FindAllStringSubmatch(q, -1) {
		switch m[1] {
		case "AS ":
		case "FROM ":
			require.Emptyf(t, n.measurement, "one measurement per query: %s", q)
			n.measurement = m[2]
		default:
			n.fields = append(n.fields, m[2]) // sorted out below
		}
	}
	meas, ok := schema[n.measurement]
	require.Truef(t, ok, "measurement %q is not one sockwatch writes: %s", n.measurement, q)
	var fields []string
	for _, name := range n.fields {
		switch {
		case meas.tags[name]:
			n.tags = append(n.tags, name)
		case meas.fields[name]:
			fields = append(fields, name)
		default:
			t.Errorf("%q is neither a field nor a tag of %s: %s", name, n.measurement, q)
		}
	}
	n.fields = fields
	return n
}

// TestGrafanaQueriesUseSchema requires every measurement, field and tag a
// query names to be one the plugin writes.
func TestGrafanaQueriesUseSchema(t *testing.T) {
	for _, p := range readGrafana(t).Panels {
		for _, target := range p.Targets {
			n := parseInfluxQL(t, target.Query)
			require.NotEmptyf(t, n.fields, "%s [%s] reads no field", p.Title, target.RefID)
			require.Containsf(t, n.tags, "host", "%s [%s]", p.Title, target.RefID)
		}
	}
}

// grafanaFields returns, per panel title in order, the "measurement.field"
// names its queries read.
func grafanaFields(t *testing.T) (titles []string, fields map[string][]string) {
	t.Helper()
	fields = map[string][]string{}
	for _, p := range readGrafana(t).Panels {
		titles = append(titles, p.Title)
		for _, target := range p.Targets {
			n := parseInfluxQL(t, target.Query)
			for _, f := range n.fields {
				fields[p.Title] = append(fields[p.Title], n.measurement+"."+f)
			}
		}
		fields[p.Title] = uniqueSorted(fields[p.Title])
	}
	return titles, fields
}

func uniqueSorted(s []string) []string {
	sort.Strings(s)
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
