package dashboards

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// resource is one object of an InfluxDB 2 template (`influx apply -f`).
type resource struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Name         string `json:"name"`
		Type         string `json:"type"`
		Language     string `json:"language"`
		Query        string `json:"query"`
		Associations []struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"associations"`
		Charts []struct {
			Kind    string `json:"kind"`
			Name    string `json:"name"`
			Queries []struct {
				Query string `json:"query"`
			} `json:"queries"`
		} `json:"charts"`
	} `json:"spec"`
}

// The variables InfluxDB 2 itself provides to dashboard queries.
var builtinVariables = map[string]bool{"timeRangeStart": true, "timeRangeStop": true, "windowPeriod": true}

func readTemplate(t *testing.T) []resource {
	t.Helper()
	data, err := os.ReadFile("influxdb2-template.json")
	require.NoError(t, err)
	var rs []resource
	require.NoError(t, json.Unmarshal(data, &rs))
	return rs
}

// TestInfluxDB2Template checks the template's resources: a label, the
// bucket and host variables, and one dashboard whose every query reads the
// selected bucket and host in the dashboard's time range.
func TestInfluxDB2Template(t *testing.T) {
	rs := readTemplate(t)
	names := map[string]bool{}
	labels := map[string]bool{}
	variables := map[string]resource{}
	var dashboards []resource
	for _, r := range rs {
		require.Equal(t, "influxdata.com/v2alpha1", r.APIVersion)
		require.NotEmpty(t, r.Metadata.Name)
		require.Falsef(t, names[r.Kind+"/"+r.Metadata.Name], "%s %s twice", r.Kind, r.Metadata.Name)
		names[r.Kind+"/"+r.Metadata.Name] = true
		switch r.Kind {
		case "Label":
			labels[r.Metadata.Name] = true
		case "Variable":
			require.Equal(t, "query", r.Spec.Type)
			require.Equal(t, "flux", r.Spec.Language)
			variables[r.Spec.Name] = r
		case "Dashboard":
			dashboards = append(dashboards, r)
		default:
			t.Errorf("unexpected resource kind %s", r.Kind)
		}
	}
	for _, r := range rs {
		for _, a := range r.Spec.Associations {
			require.Equal(t, "Label", a.Kind)
			require.Truef(t, labels[a.Name], "%s %s: label %q is not in the template", r.Kind, r.Metadata.Name, a.Name)
		}
	}

	require.Contains(t, variables, "bucket")
	require.Contains(t, variables["bucket"].Spec.Query, "buckets()")
	require.Contains(t, variables, "host")
	host := variables["host"].Spec.Query
	require.Contains(t, host, `schema.measurementTagValues(bucket: v.bucket, measurement: "sockwatch", tag: "host")`)
	require.Contains(t, host, `import "influxdata/influxdb/schema"`)
	for name, v := range variables {
		requireBalanced(t, "variable "+name, v.Spec.Query)
	}

	require.Len(t, dashboards, 1)
	require.NotEmpty(t, dashboards[0].Spec.Charts)
	for _, c := range dashboards[0].Spec.Charts {
		require.Containsf(t, []string{"Xy", "Table"}, c.Kind, "chart %q", c.Name)
		require.NotEmptyf(t, c.Queries, "chart %q has no query", c.Name)
		for _, q := range c.Queries {
			checkFlux(t, c.Name, q.Query, variables)
		}
	}
}

// fluxNames are the measurements, fields, tags and variables a Flux query
// names.
type fluxNames struct {
	measurements, fields, tags []string
}

var (
	fluxMeasurement = regexp.MustCompile(`r\._measurement == "([^"]+)"`)
	fluxField       = regexp.MustCompile(`r\._field == "([^"]+)"`)
	fluxColumn      = regexp.MustCompile(`\br\.([A-Za-z_][A-Za-z0-9_]*)`)
	fluxVariable    = regexp.MustCompile(`\bv\.([A-Za-z_][A-Za-z0-9_]*)`)
	fluxColumnList  = regexp.MustCompile(`(?:columns|rowKey|columnKey): \[([^\]]*)\]`)
	fluxStage       = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9.]*\(.*\)$`)
	quoted          = regexp.MustCompile(`"([^"]*)"`)
)

// checkFlux checks one dashboard query's structure: a pipeline that starts
// from the bucket variable, limits itself to the dashboard's time range and
// the host variable, and names only variables the template or InfluxDB
// defines and measurements, fields and tags sockwatch writes.
func checkFlux(t *testing.T, chart, q string, variables map[string]resource) fluxNames {
	t.Helper()
	requireBalanced(t, chart, q)
	stages := strings.Split(q, "|>")
	require.Equalf(t, "from(bucket: v.bucket)", strings.TrimSpace(stages[0]), "chart %q: start from the bucket variable", chart)
	require.GreaterOrEqualf(t, len(stages), 3, "chart %q: a range and a filter at least", chart)
	require.Equalf(t, "range(start: v.timeRangeStart, stop: v.timeRangeStop)", strings.TrimSpace(stages[1]), "chart %q: the dashboard's time range", chart)
	for _, s := range stages[1:] {
		require.Regexpf(t, fluxStage, strings.TrimSpace(s), "chart %q: a stage is one function call", chart)
	}
	require.Containsf(t, q, "r.host == v.host", "chart %q: filter on the host variable", chart)

	for _, m := range fluxVariable.FindAllStringSubmatch(q, -1) {
		_, defined := variables[m[1]]
		require.Truef(t, defined || builtinVariables[m[1]], "chart %q: variable v.%s is not defined", chart, m[1])
	}

	var n fluxNames
	for _, m := range fluxMeasurement.FindAllStringSubmatch(q, -1) {
		_, ok := schema[m[1]]
		require.Truef(t, ok, "chart %q: measurement %q is not one sockwatch writes", chart, m[1])
		n.measurements = append(n.measurements, m[1])
	}
	require.Lenf(t, n.measurements, 1, "chart %q: one measurement per query", chart)
	meas := schema[n.measurements[0]]
	for _, m := range fluxField.FindAllStringSubmatch(q, -1) {
		require.Truef(t, meas.fields[m[1]], "chart %q: %q is not a field of %s", chart, m[1], n.measurements[0])
		n.fields = append(n.fields, m[1])
	}
	require.NotEmptyf(t, n.fields, "chart %q: filter on the fields drawn", chart)
	for _, m := range fluxColumn.FindAllStringSubmatch(q, -1) {
		if strings.HasPrefix(m[1], "_") {
			require.Containsf(t, []string{"_measurement", "_field", "_value"}, m[1], "chart %q", chart)
			continue
		}
		require.Truef(t, meas.tags[m[1]], "chart %q: r.%s is not a tag of %s", chart, m[1], n.measurements[0])
		n.tags = append(n.tags, m[1])
	}
	// Column lists of group, pivot, keep and sort: tags, fields pivoted
	// into columns, or Flux's own columns.
	for _, m := range fluxColumnList.FindAllStringSubmatch(q, -1) {
		for _, c := range quoted.FindAllStringSubmatch(m[1], -1) {
			name := c[1]
			require.Truef(t, meas.tags[name] || meas.fields[name] || strings.HasPrefix(name, "_"),
				"chart %q: column %q is not in %s", chart, name, n.measurements[0])
		}
	}
	return n
}

// requireBalanced checks that parentheses, brackets and braces pair up
// outside string literals.
func requireBalanced(t *testing.T, where, q string) {
	t.Helper()
	var stack []rune
	pair := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inString := false
	for i, c := range q {
		switch {
		case c == '"' && (i == 0 || q[i-1] != '\\'):
			inString = !inString
		case inString:
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, c)
		case c == ')' || c == ']' || c == '}':
			require.NotEmptyf(t, stack, "%s: unmatched %q at %d", where, c, i)
			require.Equalf(t, pair[c], stack[len(stack)-1], "%s: %q at %d closes %q", where, c, i, stack[len(stack)-1])
			stack = stack[:len(stack)-1]
		}
	}
	require.Falsef(t, inString, "%s: unterminated string", where)
	require.Emptyf(t, stack, "%s: unclosed %q", where, stack)
}

// TestDashboardsShowTheSame requires the InfluxDB 2 dashboard to have the
// Grafana dashboard's panels, in the same order, each drawing the same
// fields, so that users of either see the same thing.
func TestDashboardsShowTheSame(t *testing.T) {
	titles, want := grafanaFields(t)
	var dash *resource
	rs := readTemplate(t)
	variables := map[string]resource{}
	for i, r := range rs {
		switch r.Kind {
		case "Dashboard":
			dash = &rs[i]
		case "Variable":
			variables[r.Spec.Name] = r
		}
	}
	require.NotNil(t, dash)
	var charts []string
	for _, c := range dash.Spec.Charts {
		charts = append(charts, c.Name)
		var got []string
		for _, q := range c.Queries {
			n := checkFlux(t, c.Name, q.Query, variables)
			for _, f := range n.fields {
				got = append(got, n.measurements[0]+"."+f)
			}
		}
		require.Equalf(t, want[c.Name], uniqueSorted(got), "fields of chart %q", c.Name)
	}
	require.Equal(t, titles, charts)
}
