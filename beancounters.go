package sockwatch

import (
	"bytes"
	"errors"
	"math"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// Beancounter is one resource row of /proc/user_beancounters (OpenVZ 6,
// Virtuozzo 7): the resource accounting of one container. Inside a container
// the file holds that container only; on the host, every container, the host
// itself as ID "0".
type Beancounter struct {
	ID       string // container ID: a number (OpenVZ) or a name or UUID (Virtuozzo 7)
	Resource string // numothersock, numtcpsock, othersockbuf, kmemsize, ...
	Held     int64  // in use now
	MaxHeld  int64  // highest use since the counters were reset
	Barrier  int64  // the soft limit
	Limit    int64  // the hard limit
	FailCnt  int64  // allocations refused for this resource since boot
}

// Unlimited reports whether v is the kernel's "no limit": LONG_MAX of a
// 64-bit kernel, or of a 32-bit one as older OpenVZ kernels print it.
func Unlimited(v int64) bool { return v == math.MaxInt64 || v == math.MaxInt32 }

// HardLimit is where the kernel refuses the resource: numothersock, like
// every resource charged with UB_HARD, fails at the barrier and at the
// limit, so at the lower of the two. name says which: "barrier" (also when
// they are equal) or "limit". ok is false only when both are unlimited.
func (b Beancounter) HardLimit() (limit int64, name string, ok bool) {
	switch {
	case Unlimited(b.Barrier) && Unlimited(b.Limit):
		return 0, "", false
	case Unlimited(b.Barrier) || !Unlimited(b.Limit) && b.Limit < b.Barrier:
		return b.Limit, "limit", true
	}
	return b.Barrier, "barrier", true
}

// UsedPercent is Held in percent of HardLimit; unknown when both barrier
// and limit are unlimited, or the lower one is zero.
func (b Beancounter) UsedPercent() (float64, bool) {
	l, _, ok := b.HardLimit()
	if !ok {
		return 0, false
	}
	return Percent(Known(b.Held), Known(l))
}

// parseBeancounters reads the whole file. The layout is
//
//	Version: 2.5
//	       uid  resource   held   maxheld   barrier   limit   failcnt
//	      101:  kmemsize   2752512 ...
//	            numothersock 78 102 360 360 12
//
// with the container ID ("101:") opening the first row of each container,
// sometimes glued to the resource name ("331:kmemsize"). The placeholder rows
// named "dummy" are skipped.
func parseBeancounters(path string, data []byte) ([]Beancounter, error) {
	var rows []Beancounter
	var buf [8][]byte
	id := ""
	sawHeader := false
	err := procfile.Lines(data, func(n int, line []byte) error {
		f := procfile.Fields(line, buf[:0])
		switch {
		case len(f) == 0:
			return nil
		case bytes.Equal(f[0], []byte("Version:")):
			if len(f) != 2 || !bytes.HasPrefix(f[1], []byte("2.")) {
				return procfile.LineErr(path, n, "unsupported version line %q", line)
			}
			return nil
		case bytes.Equal(f[0], []byte("uid")):
			sawHeader = true
			return nil
		}
		if i := bytes.IndexByte(f[0], ':'); i >= 0 {
			if i == 0 {
				return procfile.LineErr(path, n, "empty container ID")
			}
			id = string(f[0][:i])
			if rest := f[0][i+1:]; len(rest) > 0 {
				f[0] = rest
			} else {
				f = f[1:]
			}
		}
		if !sawHeader || id == "" {
			return procfile.LineErr(path, n, "resource row before the header and a container ID")
		}
		if len(f) != 6 {
			return procfile.LineErr(path, n, "want resource and 5 values, got %d fields", len(f))
		}
		var v [5]int64
		for i := range v {
			x, err := procfile.Atoi(f[i+1])
			if err != nil {
				return procfile.LineErr(path, n, "%s: %q is not an integer", f[0], f[i+1])
			}
			v[i] = x
		}
		if bytes.Equal(f[0], []byte("dummy")) {
			return nil
		}
		rows = append(rows, Beancounter{
			ID: id, Resource: string(f[0]),
			Held: v[0], MaxHeld: v[1], Barrier: v[2], Limit: v[3], FailCnt: v[4],
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !sawHeader {
		return nil, &FileError{Path: path, Err: errors.New("no \"uid resource held ...\" header")}
	}
	return rows, nil
}
