package nagios

import (
	"fmt"
	"time"
)

// Run calls check in a goroutine of its own and returns its result. A panic
// in check becomes an UNKNOWN result carrying the panic's message; a check
// that has not returned after timeout (a hung proc or NFS read) becomes an
// UNKNOWN result at once, and the caller is expected to exit, abandoning the
// goroutine. A monitoring core treats a plugin that hangs or dies with a Go
// stack trace much worse than one that says UNKNOWN.
func Run(timeout time.Duration, what string, check func() *Result) *Result {
	done := make(chan *Result, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- &Result{State: Unknown, Summary: fmt.Sprintf("internal error: %v", v)}
			}
		}()
		done <- check()
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r
	case <-timer.C:
		return &Result{State: Unknown, Summary: fmt.Sprintf("timed out after %v %s", timeout, what)}
	}
}
