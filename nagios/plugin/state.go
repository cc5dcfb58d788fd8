package plugin

// State is a plugin's result and exit code, as the guidelines define them.
type State int

// The four plugin states, each its own exit code.
const (
	OK       State = 0
	Warning  State = 1
	Critical State = 2
	Unknown  State = 3
)

func (s State) String() string {
	switch s {
	case OK:
		return "OK"
	case Warning:
		return "WARNING"
	case Critical:
		return "CRITICAL"
	}
	return "UNKNOWN"
}

// severity orders states for Worst: CRITICAL over WARNING over UNKNOWN over
// OK, the order of the Monitoring Plugins' max_state_alt. A metric that
// cannot be evaluated must not hide one that is known to be failing, but must
// not pass for OK either.
func (s State) severity() int {
	switch s {
	case OK:
		return 0
	case Unknown:
		return 1
	case Warning:
		return 2
	}
	return 3
}

// Worst returns the more severe of a and b.
func Worst(a, b State) State {
	if b.severity() > a.severity() {
		return b
	}
	return a
}
