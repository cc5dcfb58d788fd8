package sockwatch

import (
	"os"
	"path/filepath"
)

// Reader reads socket accounting under one proc root. It keeps a buffer
// between reads, so one Reader must not be used by two goroutines at once.
type Reader struct {
	// Root is the proc root, as returned by ProcRoot.
	Root string
	// PageSize converts the kernel's page counts to bytes; the host's by default.
	PageSize int64

	fr fileReader
}

// NewReader returns a Reader for the proc root ProcRoot(root) picks.
func NewReader(root string) *Reader {
	return &Reader{Root: ProcRoot(root), PageSize: int64(os.Getpagesize())}
}

// Snapshot is one reading of the host's socket accounting.
type Snapshot struct {
	Root     string // proc root read
	NetDir   string // the net directory read: Root/1/net, or Root/net
	PageSize int64

	Sockstat Sockstat
	Limits   Limits
	Counters Counters

	// Beancounters are the rows of Root/user_beancounters: nil where the file
	// does not exist (not OpenVZ/Virtuozzo) or could not be read (see Errors).
	Beancounters []Beancounter
	// BeancountersErr is why an existing beancounter file could not be read
	// (it is root-only on OpenVZ), also listed in Errors; nil otherwise.
	BeancountersErr error

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
	s := &Snapshot{Root: r.Root, NetDir: netDir(r.Root), PageSize: r.PageSize}
	path := filepath.Join(s.NetDir, "sockstat")
	data, err := r.fr.read(path)
	if err == nil {
		err = parseSockstat(path, data, &s.Sockstat)
	}
	if err != nil {
		return nil, err
	}
	// sockstat6 fills the IPv6 figures; it is parsed into a copy so that a
	// malformed file leaves them all unknown rather than half set.
	path = filepath.Join(s.NetDir, "sockstat6")
	data, err = r.fr.read(path)
	with6 := s.Sockstat
	if err == nil {
		err = parseSockstat(path, data, &with6)
	}
	switch {
	case err == nil:
		s.Sockstat = with6
	case !IsNotExist(err):
		s.Errors = append(s.Errors, err)
	}

	path = filepath.Join(s.NetDir, "protocols")
	data, err = r.fr.read(path)
	withMPTCP := s.Sockstat
	if err == nil {
		err = parseProtocols(path, data, &withMPTCP)
	}
	switch {
	case err == nil:
		s.Sockstat = withMPTCP
	case !IsNotExist(err):
		s.Errors = append(s.Errors, err)
	}

	var errs []error
	s.Limits, errs = readLimits(&r.fr, r.Root)
	s.Errors = append(s.Errors, errs...)
	s.Counters, errs = readCounters(&r.fr, s.NetDir)
	s.Errors = append(s.Errors, errs...)

	path = filepath.Join(r.Root, "user_beancounters")
	data, err = r.fr.read(path)
	if err == nil {
		s.Beancounters, err = parseBeancounters(path, data)
	}
	if err != nil && !IsNotExist(err) {
		s.BeancountersErr = err
		s.Errors = append(s.Errors, err)
	}
	return s, nil
}
