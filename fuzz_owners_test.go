package sockwatch

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"testing"
)

// Fuzz targets for the text the owner scan reads besides the unix table
// (FuzzUnixPaths): the udp tables searched for DNS sockets, the passwd file
// that names users, the "socket:[INODE]" link of a descriptor, and the
// kernel's sock_diag replies.

func FuzzDNSInodes(f *testing.F) {
	seed(f, "udp")
	seed(f, "udp6")
	f.Fuzz(func(t *testing.T, data []byte) {
		var found []uint64
		err := parseDNSInodes("udp", bytes.NewReader(data), func(inode uint64) { found = append(found, inode) })
		if err != nil {
			checkErr(t, "udp", data, err)
			return
		}
		if len(found) > bytes.Count(data, []byte("\n")) {
			t.Fatalf("%d DNS sockets from %d rows", len(found), bytes.Count(data, []byte("\n")))
		}
		for _, inode := range found {
			if !bytes.Contains(data, []byte(strconv.FormatUint(inode, 10))) {
				t.Fatalf("inode %d not in the input", inode)
			}
		}
		if len(found) > 0 && !bytes.Contains(data, []byte(":0035")) {
			t.Fatal("a DNS socket without a row connected to port 53")
		}
	})
}

func FuzzPasswd(f *testing.F) {
	f.Add([]byte("root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"))
	f.Add([]byte("# comment\n+nis\nbad:x:-1:0::/:\nbig:x:4294967296:0::/:\nw w:x:33:33::/:\n"))
	if data, err := os.ReadFile(DefaultPasswdFile); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		users := parseUsers(data)
		for uid, name := range users {
			if name == "" || bytes.ContainsAny([]byte(name), ":\n") {
				t.Fatalf("uid %d named %q", uid, name)
			}
			if !bytes.Contains(data, []byte(name+":")) {
				t.Fatalf("user %q not in the input", name)
			}
			if users.name(uid) != name {
				t.Fatalf("uid %d: name %q, lookup %q", uid, name, users.name(uid))
			}
		}
		// An unknown uid reads as its number, whatever the file held.
		var free uint32 = 1 << 31
		for users[free] != "" {
			free++
		}
		if got := users.name(free); got != strconv.FormatUint(uint64(free), 10) {
			t.Fatalf("unknown uid %d shown as %q", free, got)
		}
	})
}

// FuzzDiagReply feeds any datagram to the sock_diag reply parser, as the
// reply to each kind of request: it must not read past the input, and what
// it finds must be a socket of the class asked for.
func FuzzDiagReply(f *testing.F) {
	for _, fx := range diagFixtures {
		data, err := os.ReadFile("testdata/owners-diag/" + fx.name + ".reply")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		fx := diagFixtures[int(kind)%len(diagFixtures)]
		found := 0
		_, err := parseDiagReply(data, fx.seq, fx.req, func(inode uint32, class uint8) {
			found++
			if inode == 0 {
				t.Fatal("a socket of inode 0")
			}
			if class&^sockDNS != fx.req.class || (class&sockDNS != 0 && fx.req.class != sockUDP) {
				t.Fatalf("class %#x in the reply to %+v", class, fx.req)
			}
		})
		// Every socket takes a header and a message of 16 bytes at least.
		if found > len(data)/32 {
			t.Fatalf("%d sockets from %d bytes", found, len(data))
		}
		if err != nil && err != errDiagReply {
			if _, ok := err.(syscall.Errno); !ok {
				t.Fatalf("error %v", err)
			}
		}
	})
}
