package dashboards

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// pluginREADME is where inputs.sockwatch documents its metrics.
const pluginREADME = "../README.md"

// documentedFields parses the README's Metrics section: "### `measurement`"
// headings, each with "- fields ...:" lists whose items start with one or
// more backquoted names. Other headings ("### `sockwatch` per network
// namespace") describe variants of a measurement and are skipped.
func documentedFields(t *testing.T) map[string]map[string]bool {
	t.Helper()
	f, err := os.Open(pluginREADME)
	require.NoError(t, err)
	defer f.Close()
	heading := regexp.MustCompile("^### `([a-z0-9_]+)`$")
	item := regexp.MustCompile("^  - ((?:`[a-z0-9_]+`(?:, )?)+)")
	name := regexp.MustCompile("`([a-z0-9_]+)`")
	out := map[string]map[string]bool{}
	var cur map[string]bool
	inMetrics, inFields := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "## Metrics":
			inMetrics = true
		case strings.HasPrefix(line, "## "):
			inMetrics = false
		case !inMetrics:
		case heading.MatchString(line):
			cur = map[string]bool{}
			out[heading.FindStringSubmatch(line)[1]] = cur
			inFields = false
		case strings.HasPrefix(line, "### "):
			cur, inFields = nil, false
		case strings.HasPrefix(line, "- "):
			inFields = cur != nil && strings.HasPrefix(line, "- fields")
		case inFields:
			if m := item.FindStringSubmatch(line); m != nil {
				for _, n := range name.FindAllStringSubmatch(m[1], -1) {
					cur[n[1]] = true
				}
			}
		}
	}
	require.NoError(t, sc.Err())
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
