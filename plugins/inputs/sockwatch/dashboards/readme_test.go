package dashboards

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// pluginREADME is where inputs.sockwatch documents its metrics.
const pluginREADME = "../README.md"

// documentedFields are the fields the README's Metrics section lists per
// measurement. Headings that describe a variant of a measurement ("###
// `sockwatch` per network namespace") are skipped.
func documentedFields(t *testing.T) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	for series, d := range testenv.ReadmeMetrics(t, pluginREADME) {
		if !strings.Contains(series, " ") {
			out[series] = d.Fields
		}
	}
	return out
}

// TestDashboardFieldsDocumented requires every field a dashboard draws to be
// documented in the plugin's README, so that a user reading a panel can look
// up what its lines mean.
func TestDashboardFieldsDocumented(t *testing.T) {
	doc := documentedFields(t)
	require.NotEmpty(t, doc, "no measurement found in the Metrics section of %s", pluginREADME)
	_, fields := grafanaFields(t)
	var missing []string
	for _, fs := range fields {
		for _, f := range fs {
			meas, field, _ := strings.Cut(f, ".")
			if !doc[meas][field] {
				missing = append(missing, f)
			}
		}
	}
	require.Empty(t, uniqueSorted(missing), "fields the dashboards draw that %s does not document", pluginREADME)
}
