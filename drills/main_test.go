//go:build drill

package drills

import (
	"os"
	"testing"

	"github.com/sockwatch/sockwatch/internal/drilltest"
)

// TestMain lets the drill binary be the load it drives too: started again
// by a drill, it becomes the namespace holder or one of its helpers (see
// internal/drilltest), so everything stays in one binary.
func TestMain(m *testing.M) {
	drilltest.Main()
	os.Exit(m.Run())
}
