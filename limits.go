package sockwatch

import (
	"path/filepath"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// Limits are the sysctls that bound socket usage, read from root/sys.
//
// tcp_mem, udp_mem and tcp_max_orphans exist only in the initial network
// namespace: in a container they are unknown. tcp_max_tw_buckets is per
// namespace, and /proc/sys shows the namespace of the reading process: it is
// unknown when the namespace read is not the reader's own.
type Limits struct {
	TCPMemMinPages      Num // net.ipv4.tcp_mem[0]: below it TCP does not moderate memory
	TCPMemPressurePages Num // net.ipv4.tcp_mem[1]: above it TCP is under memory pressure
	TCPMemMaxPages      Num // net.ipv4.tcp_mem[2]: above it allocations fail, "Out of socket memory"
	UDPMemMinPages      Num
	UDPMemPressurePages Num
	UDPMemMaxPages      Num
	TCPMaxOrphans       Num // net.ipv4.tcp_max_orphans
	TCPMaxTWBuckets     Num // net.ipv4.tcp_max_tw_buckets
	FilesAllocated      Num // fs.file-nr[0]: file handles in use
	FilesMax            Num // fs.file-max
}

// sysctl file names under root/sys, relative.
const (
	sysTCPMem        = "net/ipv4/tcp_mem"
	sysUDPMem        = "net/ipv4/udp_mem"
	sysTCPMaxOrphans = "net/ipv4/tcp_max_orphans"
	sysTCPMaxTW      = "net/ipv4/tcp_max_tw_buckets"
	sysFileNr        = "fs/file-nr"
	sysFileMax       = "fs/file-max"
)

// readLimits reads every limit it can. A limit whose file is missing stays
// unknown without an error (the normal case in a container); any other
// failure, such as a malformed value, is returned alongside and leaves only
// that limit unknown. foreignNS says the namespace reported is not the
// reader's: /proc/sys shows the reader's tcp_max_tw_buckets, which is then
// not read at all and stays unknown.
func readLimits(fr *procfile.Reader, root string, foreignNS bool) (Limits, []error) {
	var l Limits
	var errs []error
	sys := filepath.Join(root, "sys")
	read := func(name string, dst ...*Num) {
		path := filepath.Join(sys, name)
		data, err := fr.Read(path)
		if err == nil {
			err = parseInts(path, data, dst)
		}
		if err != nil && !IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	var fileNrFree, fileNrMax Num
	read(sysTCPMem, &l.TCPMemMinPages, &l.TCPMemPressurePages, &l.TCPMemMaxPages)
	read(sysUDPMem, &l.UDPMemMinPages, &l.UDPMemPressurePages, &l.UDPMemMaxPages)
	read(sysTCPMaxOrphans, &l.TCPMaxOrphans)
	if !foreignNS {
		read(sysTCPMaxTW, &l.TCPMaxTWBuckets)
	}
	read(sysFileNr, &l.FilesAllocated, &fileNrFree, &fileNrMax)
	read(sysFileMax, &l.FilesMax)
	if !l.FilesMax.Known {
		// file-nr's third figure is file-max: use it when file-max itself
		// cannot be read.
		l.FilesMax = fileNrMax
	}
	return l, errs
}

// parseInts reads a sysctl holding exactly len(dst) whitespace-separated
// non-negative integers. On error nothing is set.
func parseInts(path string, data []byte, dst []*Num) error {
	var buf [8][]byte
	f := procfile.Fields(trimNewline(data), buf[:])
	if len(f) != len(dst) {
		return procfile.LineErr(path, 1, "want %d values, got %d", len(dst), len(f))
	}
	var vals [8]int64
	for i, b := range f {
		v, err := procfile.Atoi(b)
		if err != nil || v < 0 {
			return procfile.LineErr(path, 1, "value %d: %q is not a non-negative integer", i+1, b)
		}
		vals[i] = v
	}
	for i, d := range dst {
		*d = Known(vals[i])
	}
	return nil
}

// trimNewline drops one trailing newline, and rejects nothing else: a sysctl
// that spans several lines is malformed and fails the field count.
func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-1]
	}
	return b
}
