package sockwatch

import "math"

// Num is one figure read from the kernel. Known is false when its source
// could not be read: a sysctl hidden in a container's namespace, a line an
// older or newer kernel does not print. Unknown is never reported as zero.
type Num struct {
	Value int64
	Known bool
}

// Known is the known figure v.
func Known(v int64) Num { return Num{Value: v, Known: true} }

// NoLimit reports whether a sysctl limit is the kernel's "unlimited",
// LONG_MAX (systemd sets fs.file-max to it).
func NoLimit(limit Num) bool { return limit.Known && limit.Value == math.MaxInt64 }
