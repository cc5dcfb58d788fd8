package sockwatch

import (
	"bytes"
	"os"
	"strconv"
	"testing"
)

// Fuzz targets for the text the owner scan reads besides the unix table
// (FuzzUnixPaths): the udp tables searched for DNS sockets, the passwd file
// that names users, and the "socket:[INODE]" link of a descriptor.

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

func FuzzSocketInode(f *testing.F) {
	f.Add([]byte("socket:[517320]"))
	f.Add([]byte("socket:[]"))
	f.Add([]byte("pipe:[12]"))
	f.Add([]byte("socket:[-1]"))
	f.Add([]byte("/run/php fpm.sock"))
	f.Fuzz(func(t *testing.T, link []byte) {
		inode, ok := socketInode(link)
		if !ok {
			if inode != 0 {
				t.Fatalf("%q: inode %d without ok", link, inode)
			}
			return
		}
		// ParseInt, as the parser, takes a leading "+", which the kernel
		// never writes but which does no harm.
		v, err := strconv.ParseInt(string(link[len("socket:["):len(link)-1]), 10, 64)
		if err != nil || v < 0 || uint64(v) != inode || !bytes.HasPrefix(link, []byte("socket:[")) {
			t.Fatalf("%q read as inode %d", link, inode)
		}
	})
}
