//go:build drill

package drills

import (
	"testing"

	"github.com/sockwatch/sockwatch/internal/drilltest"
	"github.com/sockwatch/sockwatch/internal/testenv"
)

// drillNS is one drill's namespace (internal/drilltest), with the drills'
// runs of the check and the Telegraf plugin against it.
type drillNS struct {
	*drilltest.NS
	t *testing.T
}

// startNS starts a drill's namespace holder (see drilltest.Start), once the
// binaries the drill runs are built: not while a drill holds a global
// sysctl lowered.
func startNS(t *testing.T, name, argv0 string, children ...string) *drillNS {
	t.Helper()
	testenv.Build(t, "./cmd/check_sockwatch")
	testenv.Build(t, "./cmd/telegraf-sockwatch")
	return &drillNS{NS: drilltest.Start(t, name, argv0, children...), t: t}
}

// The drills' names for what internal/drilltest provides.
type kernelTable = drilltest.KernelTable

var (
	lowerGlobal                  = drilltest.LowerGlobal
	readSysctl                   = drilltest.ReadSysctl
	readNetstat                  = drilltest.ReadNetstat
	requireGlobalSysctlsRestored = drilltest.RequireGlobalSysctlsRestored
)
