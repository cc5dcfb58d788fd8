//go:build drill

package drills

import (
	"fmt"
	"os"
	"testing"
)

// TestMain lets the drill binary be the load it drives too: started again
// with SOCKWATCH_DRILL_ROLE set, it becomes the namespace holder or one of
// its helpers (see helper_test.go), so everything stays in one package.
func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		if err := runRole(role, os.Args[1:]); err != nil {
			fmt.Fprintf(os.Stderr, "drill %s: %v\n", role, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
