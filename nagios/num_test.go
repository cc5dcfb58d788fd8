package nagios

import "github.com/sockwatch/sockwatch"

// num is a known figure, for the tests.
func num(v int64) sockwatch.Num { return sockwatch.Known(v) }
