package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// box is a panel's place on a dashboard's grid.
type box struct {
	name       string
	x, y, w, h int
}

// requireNoOverlap requires every box inside a grid width columns wide and
// no two boxes to overlap: Grafana and InfluxDB would otherwise move panels
// about on load.
func requireNoOverlap(t *testing.T, boxes []box, width int) {
	t.Helper()
	for i, a := range boxes {
		require.Truef(t, a.x >= 0 && a.y >= 0 && a.w > 0 && a.h > 0 && a.x+a.w <= width,
			"panel %q at x=%d w=%d is outside the %d columns", a.name, a.x, a.w, width)
		for _, b := range boxes[i+1:] {
			overlap := a.x < b.x+b.w && b.x < a.x+a.w && a.y < b.y+b.h && b.y < a.y+a.h
			require.Falsef(t, overlap, "panels %q and %q overlap", a.name, b.name)
		}
	}
}

func TestGrafanaLayout(t *testing.T) {
	data, err := os.ReadFile("grafana-influxql.json")
	require.NoError(t, err)
	var g struct {
		Panels []struct {
			ID      int    `json:"id"`
			Title   string `json:"title"`
			GridPos struct {
				X, Y, W, H int
			} `json:"gridPos"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(data, &g))
	ids := map[int]string{}
	var boxes []box
	for _, p := range g.Panels {
		require.NotContainsf(t, ids, p.ID, "panels %q and %q have the same id", ids[p.ID], p.Title)
		ids[p.ID] = p.Title
		boxes = append(boxes, box{p.Title, p.GridPos.X, p.GridPos.Y, p.GridPos.W, p.GridPos.H})
	}
	requireNoOverlap(t, boxes, 24)
}

func TestInfluxDB2Layout(t *testing.T) {
	data, err := os.ReadFile("influxdb2-template.json")
	require.NoError(t, err)
	var rs []struct {
		Kind string `json:"kind"`
		Spec struct {
			Charts []struct {
				Name                      string
				XPos, YPos, Width, Height int
			} `json:"charts"`
		} `json:"spec"`
	}
	require.NoError(t, json.Unmarshal(data, &rs))
	var boxes []box
	for _, r := range rs {
		for _, c := range r.Spec.Charts {
			boxes = append(boxes, box{c.Name, c.XPos, c.YPos, c.Width, c.Height})
		}
	}
	require.NotEmpty(t, boxes)
	requireNoOverlap(t, boxes, 12)
}

// The Grafana file is an export for sharing: __inputs declares the data
// source that Grafana's import page asks the user to pick, and every
// ${DS_...} placeholder in the file is one of them; __requires names
// Grafana, the InfluxDB data source plugin and every panel type used.
func TestGrafanaExportSections(t *testing.T) {
	data, err := os.ReadFile("grafana-influxql.json")
	require.NoError(t, err)
	var g struct {
		Inputs []struct {
			Name, Label, Type, PluginID string
		} `json:"__inputs"`
		Requires []struct {
			Type, ID, Name string
		} `json:"__requires"`
		Panels []struct {
			Type string `json:"type"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(data, &g))
	require.NotEmpty(t, g.Inputs, "no __inputs: Grafana's import page cannot map the data source")
	declared := map[string]bool{}
	for _, in := range g.Inputs {
		require.Equal(t, "datasource", in.Type)
		require.Equal(t, "influxdb", in.PluginID)
		require.NotEmpty(t, in.Label)
		declared[in.Name] = true
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{(DS_[A-Z0-9_]+)\}`).FindAllStringSubmatch(string(data), -1) {
		require.Truef(t, declared[m[1]], "${%s} is not declared in __inputs", m[1])
		used[m[1]] = true
	}
	require.Equal(t, declared, used, "__inputs that nothing uses")

	var requires []string
	for _, r := range g.Requires {
		require.NotEmpty(t, r.Name)
		requires = append(requires, r.Type+"/"+r.ID)
	}
	want := []string{"grafana/grafana", "datasource/influxdb"}
	for _, p := range g.Panels {
		if !slices.Contains(want, "panel/"+p.Type) {
			want = append(want, "panel/"+p.Type)
		}
	}
	require.ElementsMatch(t, want, requires, fmt.Sprintf("__requires of %d panels", len(g.Panels)))
}
