package sockwatch

import (
	"bytes"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// parseProtocols reads what net/protocols has that sockstat does not print:
// the per-namespace counts of MPTCP sockets, and TCP's memory pressure flag.
// An MPTCP socket is counted in "sockets: used" next to its TCP subflow, but
// not in "TCP: inuse", and Go programs listen with MPTCP by default since Go
// 1.24: without this, each such listener would count as one "other" socket.
func parseProtocols(path string, data []byte, s *Sockstat) error {
	var buf [32][]byte
	col, press := -1, -1
	return procfile.Lines(data, func(n int, line []byte) error {
		f := procfile.Fields(line, buf[:0])
		if len(f) == 0 {
			return nil
		}
		if col < 0 {
			for i, name := range f {
				switch string(name) {
				case "sockets":
					col = i
				case "press":
					press = i
				}
			}
			if col < 0 || !bytes.Equal(f[0], []byte("protocol")) {
				return procfile.LineErr(path, n, "no \"protocol ... sockets\" header")
			}
			return nil
		}
		if string(f[0]) == "TCP" && press >= 0 {
			if len(f) <= press {
				return procfile.LineErr(path, n, "TCP: no press column")
			}
			switch string(f[press]) {
			case "yes":
				s.TCPPressure = Known(1)
			case "no":
				s.TCPPressure = Known(0)
			default:
				return procfile.LineErr(path, n, "TCP press: %q is neither yes nor no", f[press])
			}
			return nil
		}
		var dst *Num
		switch string(f[0]) {
		case "MPTCP":
			dst = &s.MPTCPInUse
		case "MPTCPv6":
			dst = &s.MPTCP6InUse
		default:
			return nil
		}
		if len(f) <= col {
			return procfile.LineErr(path, n, "%s: no sockets column", f[0])
		}
		v, err := procfile.Atoi(f[col])
		if err != nil || v < 0 {
			return procfile.LineErr(path, n, "%s sockets: %q is not a count", f[0], f[col])
		}
		*dst = Known(v)
		return nil
	})
}
