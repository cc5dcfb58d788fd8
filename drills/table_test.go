//go:build drill

package drills

import (
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"
)

// stepTable is what a drill saw, one row per step. Each row is logged as
// it comes and the whole table once more when the drill ends, pass or fail.
type stepTable struct {
	t      *testing.T
	title  string
	header []string
	rows   [][]string
	last   string // what sockwatch printed at the last step
}

func newStepTable(t *testing.T, title string, header ...string) *stepTable {
	s := &stepTable{t: t, title: title, header: header}
	t.Cleanup(func() { t.Log(s.String()) })
	return s
}

func (s *stepTable) Row(cells ...any) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = fmt.Sprint(c)
	}
	s.rows = append(s.rows, row)
	s.t.Logf("step: %s", strings.Join(row, " | "))
}

// Saw keeps what sockwatch printed at the step just added, to show the last
// one under the table.
func (s *stepTable) Saw(output string) { s.last = output }

func (s *stepTable) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n", s.title)
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(s.header, "\t"))
	for _, r := range s.rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	w.Flush()
	if s.last != "" {
		fmt.Fprintf(&b, "sockwatch at step %d:\n  %s\n", len(s.rows)-1,
			strings.ReplaceAll(strings.TrimSpace(s.last), "\n", "\n  "))
	}
	return b.String()
}
