package nagios

import (
	"path/filepath"

	"github.com/sockwatch/sockwatch"
	"github.com/sockwatch/sockwatch/internal/privilege"
)

// confine refuses, when the check runs with more than its user has (file
// capabilities, set-user-ID), a proc root other than the real /proc and a
// state file outside the default directory: arguments and environment are
// the caller's, and the check must not read for them what they may not.
func (c *config) confine(st privilege.Status) error {
	if err := privilege.Confine(st, "proc root", c.rootOrigin, c.ProcRoot, sockwatch.DefaultProcRoot); err != nil {
		return err
	}
	if c.StateFile == "" || !st.Raised {
		return nil
	}
	dir, err := stateDir()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(c.StateFile)
	if err != nil {
		return err
	}
	return privilege.Confine(st, "state file directory", "--state-file "+c.StateFile, filepath.Dir(abs), dir)
}
