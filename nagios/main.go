package nagios

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/sockwatch/sockwatch/internal/privilege"
	"github.com/sockwatch/sockwatch/nagios/plugin"
)

// checkName is the check's name as its first output line starts.
const checkName = "SOCKWATCH"

// Main runs check_sockwatch with args (without the program name), writes
// its output to w and returns the exit code.
func Main(args []string, w io.Writer) int {
	// Before anything reads a file the caller named.
	priv, err := privilege.Setup()
	if err != nil {
		r := &plugin.Result{State: plugin.Unknown, Summary: "cannot lower the privileges it runs with: " + err.Error()}
		return r.Print(w, checkName)
	}
	cfg, err := parseArgs(args)
	if err == nil {
		err = cfg.confine(priv)
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(w, help())
		return int(plugin.Unknown)
	case errors.Is(err, errVersion):
		fmt.Fprintf(w, "check_sockwatch %s\n", checkVersion())
		return int(plugin.Unknown)
	case err != nil:
		r := &plugin.Result{State: plugin.Unknown, Summary: err.Error() + " (see check_sockwatch -h)"}
		return r.Print(w, checkName)
	}
	r := plugin.Run(cfg.Timeout, "reading "+cfg.ProcRoot, func() *plugin.Result { return check(cfg) })
	// check drops them after its scan; this covers a check that timed out
	// or panicked on the way.
	if err := privilege.Drop(); err != nil {
		r = &plugin.Result{State: plugin.Unknown, Summary: err.Error()}
	}
	return r.Print(w, checkName)
}
