package sockwatch

import (
	"fmt"
	"path/filepath"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// Snapshot is one reading of the host's socket accounting.
type Snapshot struct {
	Root     string // proc root read
	NetDir   string // the net directory read: Root/1/net, or Root/net
	PageSize int64
	// Kernel is the release of the kernel, from Root/sys/kernel/osrelease;
	// zero when it cannot be read.
	Kernel Kernel

	Sockstat Sockstat
	Limits   Limits
	Counters Counters

	// Beancounters are the rows of Root/user_beancounters: nil where the file
	// does not exist (not OpenVZ/Virtuozzo) or could not be read (see Errors).
	Beancounters []Beancounter
	// BeancountersErr is why an existing beancounter file could not be read
	// (it is root-only on OpenVZ), also listed in Errors; nil otherwise.
	BeancountersErr error

	// otherTCP is the TCP, TCP6 and MPTCP sockets of the network namespaces
	// other than this one, set by Namespaces: the pre-4.16 numothersock
	// takes them off the host-wide "sockets: used". Unknown until then, or
	// when one of them could not be read.
	otherTCP Num

	// Errors lists the sources, other than sockstat, that exist but could
	// not be read or parsed; their figures are unknown. A source that does not
	// exist (IPv6 disabled, a sysctl outside the initial namespace) is not an
	// error.
	Errors []error
}

// Read takes a snapshot. It fails only when sockstat, the one source every
// figure depends on, cannot be read or parsed; every other failure is listed
// in Snapshot.Errors.
func (r *Reader) Read() (*Snapshot, error) {
	r.hold()
	if !r.kernelRead {
		r.kernelRead = true
		r.kernel = readKernel(&r.fr, r.Root)
	}
	s := &Snapshot{Root: r.Root, NetDir: r.hostNetDir(), PageSize: r.PageSize, Kernel: r.kernel}
	var err error
	s.Sockstat, s.Errors, err = r.readSockstat(&r.host, s.NetDir)
	if err != nil {
		r.netDir = "" // look for PID 1's namespace again next time
		return nil, err
	}

	var errs []error
	s.Limits, errs = readLimits(&r.host, r.Root, r.foreign)
	s.Errors = append(s.Errors, errs...)
	if !r.SkipCounters {
		s.Counters, errs = readCounters(&r.host, s.NetDir)
		s.Errors = append(s.Errors, errs...)
	}

	path := filepath.Join(r.Root, "user_beancounters")
	data, err := r.host.Read(path)
	if err == nil {
		s.Beancounters, err = parseBeancounters(path, data)
	}
	if err != nil && !IsNotExist(err) {
		s.BeancountersErr = err
		s.Errors = append(s.Errors, err)
	}
	return s, nil
}

// readSockstat reads the socket counts of the network namespace whose net
// directory is dir: sockstat, sockstat6 and protocols. It fails only when
// sockstat cannot be read or parsed; the failures of the other two, which
// leave their figures unknown, are returned alongside, as is a negative
// "sockets: used".
func (r *Reader) readSockstat(fr *procfile.Reader, dir string) (Sockstat, []error, error) {
	var st Sockstat
	var errs []error
	path := filepath.Join(dir, "sockstat")
	data, err := fr.Read(path)
	if err == nil {
		err = parseSockstat(path, data, &st)
	}
	if err != nil {
		return Sockstat{}, nil, err
	}
	for _, src := range [...]struct {
		name  string
		parse func(string, []byte, *Sockstat) error
	}{
		{"sockstat6", parseSockstat},
		{"protocols", parseProtocols},
	} {
		if err := procfile.ReadInto(fr, filepath.Join(dir, src.name), &st, src.parse); err != nil {
			errs = append(errs, err)
		}
	}
	st.partial = len(errs) > 0
	st.usedFiles = r.kernel.Before(4, 16)
	if st.usedNegative < 0 {
		errs = append(errs, &FileError{Path: path, Err: fmt.Errorf("sockets: used is %d: the kernel's sum of per-CPU counters"+
			" fell below zero; sockets_used and numothersock are unknown", st.usedNegative)})
	}
	return st, errs, nil
}
