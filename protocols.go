package sockwatch

import "bytes"

// parseProtocols reads the per-namespace socket counts of net/protocols that
// sockstat does not print: MPTCP's. An MPTCP socket is counted in "sockets:
// used" next to its TCP subflow, but not in "TCP: inuse", and Go programs
// listen with MPTCP by default since Go 1.24: without this, each such
// listener would count as one "other" socket.
func parseProtocols(path string, data []byte, s *Sockstat) error {
	var buf [32][]byte
	col := -1
	return lines(data, func(n int, line []byte) error {
		f := fields(line, buf[:0])
		if len(f) == 0 {
			return nil
		}
		if col < 0 {
			for i, name := range f {
				if bytes.Equal(name, []byte("sockets")) {
					col = i
				}
			}
			if col < 0 || !bytes.Equal(f[0], []byte("protocol")) {
				return lineErr(path, n, "no \"protocol ... sockets\" header")
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
			return lineErr(path, n, "%s: no sockets column", f[0])
		}
		v, err := atoi(f[col])
		if err != nil || v < 0 {
			return lineErr(path, n, "%s sockets: %q is not a count", f[0], f[col])
		}
		*dst = known(v)
		return nil
	})
}
