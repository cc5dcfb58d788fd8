package sockwatch

import (
	"bytes"
	"io"
	"path/filepath"
	"sync"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// dnsTables finds the UDP sockets connected to port 53, per network
// namespace. Those of the scanner's own namespace come from its sock_diag
// dump (preload) when it went through. Another namespace's udp and udp6
// tables are read once, as soon as the scan meets a process of that
// namespace holding a UDP socket, while the scan goes on: reading a big udp
// table is slow (the kernel walks it again from the start for every page it
// prints). Only the inodes of the DNS sockets are kept: a few per resolver
// client, where the tables may list tens of thousands of sockets.
type dnsTables struct {
	mu      sync.Mutex
	ns      map[uint64]*dnsTable // by inode of the namespace
	loading sync.WaitGroup
}

type dnsTable struct {
	met    bool // a process holding a UDP socket of this namespace was found
	loaded bool // read, or failed with err; false while a read is pending or when its process exited
	err    error
	inodes map[uint64]struct{}
}

// namespace returns the network namespace of the process whose directory is
// pidDir and, the first time it is met, starts reading its tables through
// that process.
func (d *dnsTables) namespace(pidDir string) (uint64, error) {
	ns, err := procfile.Namespace(pidDir + "/ns/net")
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ns == nil {
		d.ns = make(map[uint64]*dnsTable)
	}
	t := d.ns[ns]
	if t == nil {
		t = &dnsTable{}
		d.ns[ns] = t
		d.loading.Go(func() { t.load(pidDir) })
	}
	t.met = true
	return ns, nil
}

// preload gives the DNS sockets of namespace ns, as a sock_diag dump found
// them: its tables are then not read. They count once met.
func (d *dnsTables) preload(ns uint64, inodes map[uint64]struct{}) {
	d.ns = map[uint64]*dnsTable{ns: {loaded: true, inodes: inodes}}
}

// meet marks namespace ns as one where a UDP socket was found, if preloaded.
func (d *dnsTables) meet(ns uint64) {
	if t := d.ns[ns]; t != nil {
		t.met = true
	}
}

// count returns how many of inodes, UDP sockets of the process whose
// directory is pidDir in namespace ns, are connected to port 53. It is called
// once the scan is over, after wait.
func (d *dnsTables) count(ns uint64, pidDir string, inodes []uint64) int64 {
	t := d.ns[ns]
	if !t.loaded {
		// The process it was to be read through exited first.
		t.load(pidDir)
	}
	var n int64
	for _, i := range inodes {
		if _, ok := t.inodes[i]; ok {
			n++
		}
	}
	return n
}

func (d *dnsTables) wait() { d.loading.Wait() }

// total returns the DNS sockets of every namespace read, and the errors met.
func (d *dnsTables) total() (int64, []error) {
	var n int64
	var errs []error
	for _, t := range d.ns {
		if !t.met {
			continue
		}
		n += int64(len(t.inodes))
		if t.err != nil {
			errs = append(errs, t.err)
		}
	}
	return n, errs
}

// load reads the udp and udp6 tables of the namespace of the process whose
// directory is pidDir. udp6 is absent when IPv6 is.
func (t *dnsTable) load(pidDir string) {
	inodes := make(map[uint64]struct{})
	found := func(inode uint64) { inodes[inode] = struct{}{} }
	err := readDNSInodes(filepath.Join(pidDir, "net", "udp"), found)
	if err == nil {
		err = readDNSInodes(filepath.Join(pidDir, "net", "udp6"), found)
		if IsNotExist(err) {
			// The udp table was there a moment ago: this is IPv6
			// disabled, not the process gone.
			err = nil
		}
	}
	if err != nil && procfile.Vanished(err) {
		return
	}
	t.loaded, t.err, t.inodes = true, err, inodes
	if err != nil {
		t.inodes = nil
	}
}

func readDNSInodes(path string, found func(inode uint64)) error {
	return procfile.StreamFile(path, func(r io.Reader) error { return parseDNSInodes(path, r, found) })
}

// parseDNSInodes streams a udp or udp6 table and calls found with the inode
// of every socket connected (state 01, TCP_ESTABLISHED) to remote port 53:
//
//	sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ...
//	 2: 0100007F:ADBB 3500007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 517320 ...
func parseDNSInodes(path string, r io.Reader, found func(inode uint64)) error {
	var buf [16][]byte
	return procfile.StreamLines(path, r, func(n int, line []byte) error {
		if n == 1 {
			if !bytes.Contains(line, []byte("rem_address")) && !bytes.Contains(line, []byte("remote_address")) {
				return procfile.LineErr(path, n, "no header with rem_address")
			}
			return nil
		}
		f := procfile.Fields(line, buf[:])
		if len(f) < 10 {
			return procfile.LineErr(path, n, "want at least 10 fields, got %d", len(f))
		}
		rem := f[2]
		colon := bytes.LastIndexByte(rem, ':')
		if colon < 0 {
			return procfile.LineErr(path, n, "rem_address %q has no port", rem)
		}
		if string(rem[colon+1:]) == "0035" && string(f[3]) == "01" {
			inode, err := procfile.Atoi(f[9])
			if err != nil || inode < 0 {
				return procfile.LineErr(path, n, "inode %q is not a number", f[9])
			}
			found(uint64(inode))
		}
		return nil
	})
}
