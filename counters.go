package sockwatch

import (
	"bytes"
	"path/filepath"
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

// readCounters reads netstat, snmp and snmp6 from one net directory. A
// missing file leaves its counters unknown; other failures are returned.
func readCounters(fr *fileReader, dir string) (Counters, []error) {
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
		if err := readInto(fr, filepath.Join(dir, src.name), &c, src.parse); err != nil {
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
	err := lines(data, func(n int, line []byte) error {
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
			return lineErr(path, n, "values do not follow the header of line %d", headerLine)
		}
		names := fields(hrest, nbuf[:0])
		vals := fields(vrest, vbuf[:0])
		if len(names) != len(vals) {
			return lineErr(path, n, "%s: %d names but %d values", hp, len(names), len(vals))
		}
		for i, name := range names {
			dst := c.netstatField(hp, name)
			if dst == nil {
				continue
			}
			v, err := atoi(vals[i])
			if err != nil || v < 0 {
				return lineErr(path, n, "%s %s: %q is not a counter", hp, name, vals[i])
			}
			*dst = known(v)
		}
		header = nil
		return nil
	})
	if err == nil && header != nil {
		err = lineErr(path, headerLine, "header without a line of values")
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
	return lines(data, func(n int, line []byte) error {
		f := fields(line, buf[:0])
		if len(f) == 0 {
			return nil
		}
		if len(f) != 2 {
			return lineErr(path, n, "want \"name value\", got %d fields", len(f))
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
		v, err := atoi(f[1])
		if err != nil || v < 0 {
			return lineErr(path, n, "%s: %q is not a counter", f[0], f[1])
		}
		*dst = known(v)
		return nil
	})
}
