//go:build cores

package cores

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// result is one check result as a core recorded it.
type result struct {
	At       time.Time     // when the core started the check
	Duration time.Duration // how long the check ran
	State    string        // OK, WARNING, CRITICAL, UNKNOWN
	Type     string        // SOFT or HARD
	Attempt  int           // the core's check attempt
	Output   string        // the first line and the long output, without perfdata
	Perf     string        // the performance data
}

func (r result) String() string {
	return fmt.Sprintf("%s %s %d", r.State, r.Type, r.Attempt)
}

// stateNames are the Monitoring Plugins states by exit code.
var stateNames = []string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}

func stateName(code int) string {
	if code >= 0 && code < len(stateNames) {
		return stateNames[code]
	}
	return fmt.Sprintf("state %d", code)
}

// history is what a core did with one service: the check results it
// recorded, in order, and the notifications its notification command
// wrote, one line each, to pages.
type history struct {
	mu      sync.Mutex
	results []result
	pages   string
}

func (h *history) add(r result) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.results = append(h.results, r)
}

// Results returns the results recorded so far.
func (h *history) Results() []result {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]result(nil), h.results...)
}

// Pages returns the notifications received so far, one line each:
// "TYPE STATE STATETYPE first line of the output".
func (h *history) Pages(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(h.pages)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// waitFor waits until a result recorded after the first from results
// satisfies ok, and returns its index; it fails the test after timeout,
// showing what the core recorded.
func (h *history) waitFor(t *testing.T, from int, timeout time.Duration, what string, ok func(result) bool) int {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(50 * time.Millisecond) {
		rs := h.Results()
		for i := from; i < len(rs); i++ {
			if ok(rs[i]) {
				return i
			}
		}
		if time.Now().After(deadline) {
			require.FailNow(t, "waiting for "+what, "after %v; the core recorded:\n%s", timeout, describe(rs))
		}
	}
}

// waitResults waits until the core recorded n results and returns them.
func (h *history) waitResults(t *testing.T, n int, timeout time.Duration) []result {
	t.Helper()
	h.waitFor(t, n-1, timeout, fmt.Sprintf("%d results", n), func(result) bool { return true })
	return h.Results()
}

// describe lists results one a line, with the first line of each output.
func describe(rs []result) string {
	var b strings.Builder
	for i, r := range rs {
		first, _, _ := strings.Cut(r.Output, "\n")
		fmt.Fprintf(&b, "  %2d %s %-8s %-4s %d  %s\n", i, r.At.Format("15:04:05.000"), r.State, r.Type, r.Attempt, first)
	}
	return b.String()
}
