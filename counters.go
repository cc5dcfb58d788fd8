package sockwatch

import (
	"bytes"
	"iter"
	"path/filepath"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// Counters are the kernel's event counters that say it has already acted on a
// socket limit. They only grow (until reboot); the rate is what matters. All
// are per network namespace.
type Counters struct {
	// TcpExt, from net/netstat.
	TCPAbortOnMemory         Num // connections reset because of memory or orphan limits
	TCPMemoryPressures       Num // times TCP entered memory pressure
	TCPMemoryPressuresChrono Num // milliseconds spent under memory pressure
	TCPTimeWaitOverflow      Num // TIME_WAIT buckets refused: tcp_max_tw_buckets reached

	// Udp, from net/snmp; Udp6, from net/snmp6. MemErrors exists since Linux 4.x.
	UDPRcvbufErrors  Num
	UDPSndbufErrors  Num
	UDPMemErrors     Num
	UDP6RcvbufErrors Num
	UDP6SndbufErrors Num
	UDP6MemErrors    Num
}

// counterList is every counter of Counters, in order, under the name the
// wrappers report it by: the list is data, so that a counter added here is
// reported everywhere.
var counterList = [...]struct {
	name string
	num  func(*Counters) Num
}{
	{"tcp_abort_on_memory", func(c *Counters) Num { return c.TCPAbortOnMemory }},
	{"tcp_memory_pressures", func(c *Counters) Num { return c.TCPMemoryPressures }},
	{"tcp_memory_pressures_chrono_ms", func(c *Counters) Num { return c.TCPMemoryPressuresChrono }},
	{"tcp_tw_overflow", func(c *Counters) Num { return c.TCPTimeWaitOverflow }},
	{"udp_rcvbuf_errors", func(c *Counters) Num { return c.UDPRcvbufErrors }},
	{"udp_sndbuf_errors", func(c *Counters) Num { return c.UDPSndbufErrors }},
	{"udp_mem_errors", func(c *Counters) Num { return c.UDPMemErrors }},
	{"udp6_rcvbuf_errors", func(c *Counters) Num { return c.UDP6RcvbufErrors }},
	{"udp6_sndbuf_errors", func(c *Counters) Num { return c.UDP6SndbufErrors }},
	{"udp6_mem_errors", func(c *Counters) Num { return c.UDP6MemErrors }},
}

// All yields every counter with its name (tcp_abort_on_memory,
// udp6_mem_errors...), in the order of Counters, unknown ones included.
func (c *Counters) All() iter.Seq2[string, Num] {
	return func(yield func(string, Num) bool) {
		for _, f := range counterList {
			if !yield(f.name, f.num(c)) {
				return
			}
		}
	}
}

// readCounters reads netstat, snmp and snmp6 from one net directory. A
// missing file leaves its counters unknown; other failures are returned.
func readCounters(fr *procfile.Reader, dir string) (Counters, []error) {
	var c Counters
	var errs []error
	for _, src := range [...]struct {
		name  string
		parse func(string, []byte, *Counters) error
	}{
		{"netstat", parseNetstat},
		{"snmp", parseNetstat},
		{"snmp6", parseSnmp6},
	} {
		if err := procfile.ReadInto(fr, filepath.Join(dir, src.name), &c, src.parse); err != nil {
			errs = append(errs, err)
		}
	}
	return c, errs
}

// parseNetstat reads the two-line tables of net/netstat and net/snmp: a line
// "Prefix: name name ..." followed by "Prefix: value value ...". Every pair is
// checked for shape; only the counters sockwatch needs are converted.
func parseNetstat(path string, data []byte, c *Counters) error {
	var nbuf, vbuf [160][]byte
	var header []byte
	headerLine := 0
	err := procfile.Lines(data, func(n int, line []byte) error {
		if len(bytes.TrimSpace(line)) == 0 {
			return nil
		}
		if header == nil {
			header, headerLine = line, n
			return nil
		}
		hp, hrest, ok1 := cutPrefix(header)
		vp, vrest, ok2 := cutPrefix(line)
		if !ok1 || !ok2 || !bytes.Equal(hp, vp) {
			return procfile.LineErr(path, n, "values do not follow the header of line %d", headerLine)
		}
		names := procfile.Fields(hrest, nbuf[:0])
		vals := procfile.Fields(vrest, vbuf[:0])
		if len(names) != len(vals) {
			return procfile.LineErr(path, n, "%s: %d names but %d values", hp, len(names), len(vals))
		}
		for i, name := range names {
			dst := c.netstatField(hp, name)
			if dst == nil {
				continue
			}
			v, err := procfile.Atoi(vals[i])
			if err != nil || v < 0 {
				return procfile.LineErr(path, n, "%s %s: %q is not a counter", hp, name, vals[i])
			}
			*dst = Known(v)
		}
		header = nil
		return nil
	})
	if err == nil && header != nil {
		err = procfile.LineErr(path, headerLine, "header without a line of values")
	}
	return err
}

func cutPrefix(line []byte) (prefix, rest []byte, ok bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return nil, nil, false
	}
	return line[:i], line[i+1:], true
}

func (c *Counters) netstatField(prefix, name []byte) *Num {
	switch string(prefix) {
	case "TcpExt":
		switch string(name) {
		case "TCPAbortOnMemory":
			return &c.TCPAbortOnMemory
		case "TCPMemoryPressures":
			return &c.TCPMemoryPressures
		case "TCPMemoryPressuresChrono":
			return &c.TCPMemoryPressuresChrono
		case "TCPTimeWaitOverflow":
			return &c.TCPTimeWaitOverflow
		}
	case "Udp":
		switch string(name) {
		case "RcvbufErrors":
			return &c.UDPRcvbufErrors
		case "SndbufErrors":
			return &c.UDPSndbufErrors
		case "MemErrors":
			return &c.UDPMemErrors
		}
	}
	return nil
}

// parseSnmp6 reads net/snmp6: one "Name value" pair per line.
func parseSnmp6(path string, data []byte, c *Counters) error {
	var buf [4][]byte
	return procfile.Lines(data, func(n int, line []byte) error {
		f := procfile.Fields(line, buf[:0])
		if len(f) == 0 {
			return nil
		}
		if len(f) != 2 {
			return procfile.LineErr(path, n, "want \"name value\", got %d fields", len(f))
		}
		var dst *Num
		switch string(f[0]) {
		case "Udp6RcvbufErrors":
			dst = &c.UDP6RcvbufErrors
		case "Udp6SndbufErrors":
			dst = &c.UDP6SndbufErrors
		case "Udp6MemErrors":
			dst = &c.UDP6MemErrors
		default:
			return nil
		}
		v, err := procfile.Atoi(f[1])
		if err != nil || v < 0 {
			return procfile.LineErr(path, n, "%s: %q is not a counter", f[0], f[1])
		}
		*dst = Known(v)
		return nil
	})
}
