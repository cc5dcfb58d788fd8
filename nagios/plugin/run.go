package plugin

import (
	"fmt"
	"time"
)

// WithTimeout calls f in a goroutine of its own and returns what it
// returned, with ok set; if f has not returned after timeout, it returns at
// once with ok false, abandoning f. An abandoned f runs on (a read blocked
// on a hung mount cannot be interrupted) and what it returns is dropped.
// The caller decides what an abandoned call still holds: a plugin exits,
// a long-running collector refuses new work until f returns.
//
// A panic in f is not recovered here: it ends the process, as it would
// have without the goroutine, unless f recovers it itself (see Run).
func WithTimeout[T any](timeout time.Duration, f func() T) (v T, ok bool) {
	// Buffered: an abandoned f hands its result over and ends.
	done := make(chan T, 1)
	go func() { done <- f() }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case v = <-done:
		return v, true
	case <-timer.C:
		return v, false
	}
}

// Run calls check with a timeout and returns its result. A panic in check
// becomes an UNKNOWN result carrying the panic's message; a check that has
// not returned after timeout (a hung proc or NFS read) becomes an UNKNOWN
// result at once, "timed out after 10s <what>", and the caller is expected
// to exit, abandoning it. A monitoring core treats a plugin that hangs or
// dies with a Go stack trace much worse than one that says UNKNOWN.
func Run(timeout time.Duration, what string, check func() *Result) *Result {
	r, ok := WithTimeout(timeout, func() (r *Result) {
		defer func() {
			if v := recover(); v != nil {
				r = &Result{State: Unknown, Summary: fmt.Sprintf("internal error: %v", v)}
			}
		}()
		return check()
	})
	if !ok {
		return &Result{State: Unknown, Summary: fmt.Sprintf("timed out after %v %s", timeout, what)}
	}
	return r
}
