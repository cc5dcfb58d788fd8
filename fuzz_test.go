package sockwatch

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Every parser is fuzzed with the scenario files as seeds. Beyond not
// panicking, each must either fail with a FileError pointing inside the input
// or return figures that are consistent with it.

func seed(f *testing.F, name string) {
	f.Helper()
	found := 0
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != name {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f.Add(data)
		found++
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	if found == 0 {
		f.Fatalf("no seed files named %s", name)
	}
}

// checkErr asserts that err is a FileError for path whose line exists.
func checkErr(t *testing.T, path string, data []byte, err error) {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *FileError", err)
	}
	if fe.Path != path {
		t.Fatalf("error names %q, want %q", fe.Path, path)
	}
	if fe.Line < 0 || fe.Line > bytes.Count(data, []byte("\n"))+1 {
		t.Fatalf("error line %d outside the input", fe.Line)
	}
}

func FuzzSockstat(f *testing.F) {
	seed(f, "sockstat")
	seed(f, "sockstat6")
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Sockstat
		if err := parseSockstat("sockstat", data, &s); err != nil {
			checkErr(t, "sockstat", data, err)
			return
		}
		for _, v := range []Num{s.SocketsUsed, s.TCPInUse, s.TCPOrphan, s.TCPTimeWait, s.TCPAlloc,
			s.TCPMemPages, s.UDPInUse, s.UDPMemPages, s.FragMemoryBytes, s.TCP6InUse} {
			if v.Known && v.Value < 0 {
				t.Fatalf("negative count %d", v.Value)
			}
		}
		if s.SocketsUsed.Known && !bytes.Contains(data, []byte("sockets:")) {
			t.Fatal("sockets used known without a sockets line")
		}
	})
}

func FuzzLimits(f *testing.F) {
	seed(f, "tcp_mem")
	seed(f, "file-nr")
	seed(f, "tcp_max_orphans")
	f.Fuzz(func(t *testing.T, data []byte) {
		var a, b, c Num
		if err := parseInts("tcp_mem", data, []*Num{&a, &b, &c}); err != nil {
			checkErr(t, "tcp_mem", data, err)
			if a.Known || b.Known || c.Known {
				t.Fatal("a value was set by a failed parse")
			}
			return
		}
		if !a.Known || !b.Known || !c.Known || a.Value < 0 || b.Value < 0 || c.Value < 0 {
			t.Fatalf("bad values %v %v %v", a, b, c)
		}
	})
}

func FuzzNetstat(f *testing.F) {
	seed(f, "netstat")
	seed(f, "snmp")
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Counters
		if err := parseNetstat("netstat", data, &c); err != nil {
			checkErr(t, "netstat", data, err)
			return
		}
		if c.TCPAbortOnMemory.Known && !bytes.Contains(data, []byte("TCPAbortOnMemory")) {
			t.Fatal("counter known without its name in the input")
		}
		if c.TCPAbortOnMemory.Value < 0 || c.UDPRcvbufErrors.Value < 0 {
			t.Fatal("negative counter")
		}
	})
}

func FuzzSnmp6(f *testing.F) {
	seed(f, "snmp6")
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Counters
		if err := parseSnmp6("snmp6", data, &c); err != nil {
			checkErr(t, "snmp6", data, err)
			return
		}
		if c.UDP6RcvbufErrors.Known && !bytes.Contains(data, []byte("Udp6RcvbufErrors")) {
			t.Fatal("counter known without its name in the input")
		}
	})
}

func FuzzBeancounters(f *testing.F) {
	seed(f, "user_beancounters")
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := parseBeancounters("user_beancounters", data)
		if err != nil {
			checkErr(t, "user_beancounters", data, err)
			return
		}
		for _, r := range rows {
			if r.ID == "" || r.Resource == "" || r.Resource == "dummy" {
				t.Fatalf("bad row %+v", r)
			}
			if !bytes.Contains(data, []byte(r.ID)) || !bytes.Contains(data, []byte(r.Resource)) {
				t.Fatalf("row %+v not from the input", r)
			}
		}
	})
}

func FuzzProtocols(f *testing.F) {
	seed(f, "protocols")
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Sockstat
		if err := parseProtocols("protocols", data, &s); err != nil {
			checkErr(t, "protocols", data, err)
			return
		}
		if s.MPTCPInUse.Value < 0 || (s.MPTCPInUse.Known && !bytes.Contains(data, []byte("MPTCP"))) {
			t.Fatalf("bad MPTCP count %+v", s.MPTCPInUse)
		}
		if p := s.TCPPressure; p.Value < 0 || p.Value > 1 || (p.Known && !bytes.Contains(data, []byte("press"))) {
			t.Fatalf("bad TCP pressure flag %+v", p)
		}
	})
}
