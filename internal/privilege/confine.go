package privilege

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// RefusedError says that a path the caller chose is refused because the
// program runs with raised privileges.
type RefusedError struct {
	What   string   // "proc root", "state file"
	Path   string   // as given
	Origin string   // where it was given: "--proc-root", "environment variable HOST_PROC"
	Only   []string // what is used instead
	Why    string   // Status.Why
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s %q (%s) refused: this program runs with %s, and with raised privileges it uses only %s;"+
		" to use another, run it as root, or as a user without raised privileges (a copy of the binary without file capabilities)",
		e.What, e.Path, e.Origin, e.Why, orList(e.Only))
}

func orList(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// Confine returns nil when st is not raised or path, cleaned, is one of
// only; otherwise a *RefusedError.
func Confine(st Status, what, origin, path string, only ...string) error {
	if !st.Raised || slices.Contains(only, filepath.Clean(path)) {
		return nil
	}
	return &RefusedError{What: what, Path: path, Origin: origin, Only: only, Why: st.Why}
}
