package procfile

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseNetNSLink(t *testing.T) {
	for link, want := range map[string]uint64{
		"net:[4026531840]":           4026531840,
		"net:[1]":                    1,
		"net:[]":                     0,
		"net:[-1]":                   0,
		"net:[+1]":                   0,
		"net:[0]":                    0,
		"net:[12":                    0,
		"net:[12]x":                  0,
		"mnt:[4026531840]":           0,
		"net:[99999999999999999999]": 0,
	} {
		got, ok := ParseLink([]byte(link), "net")
		require.Equal(t, want, got, link)
		require.Equal(t, want != 0, ok, link)
	}
}

func FuzzSocketInode(f *testing.F) {
	f.Add([]byte("socket:[517320]"))
	f.Add([]byte("socket:[]"))
	f.Add([]byte("pipe:[12]"))
	f.Add([]byte("socket:[-1]"))
	f.Add([]byte("/run/php fpm.sock"))
	f.Fuzz(func(t *testing.T, link []byte) {
		inode, ok := ParseLink(link, "socket")
		if !ok {
			if inode != 0 {
				t.Fatalf("%q: inode %d without ok", link, inode)
			}
			return
		}
		// Only the link as the kernel writes it: no sign, no leading zero,
		// no inode 0.
		if inode == 0 || string(link) != "socket:["+strconv.FormatUint(inode, 10)+"]" {
			t.Fatalf("%q read as inode %d", link, inode)
		}
	})
}

func FuzzNetNSLink(f *testing.F) {
	f.Add([]byte("net:[4026531840]"))
	f.Add([]byte("mnt:[4026531841]"))
	f.Add([]byte("net:[00001]"))
	f.Fuzz(func(t *testing.T, link []byte) {
		inode, ok := ParseLink(link, "net")
		if ok != (inode > 0) {
			t.Fatalf("inode %d, ok %v", inode, ok)
		}
		if ok && string(link) != "net:["+strconv.FormatUint(inode, 10)+"]" {
			t.Fatalf("%q read as inode %d", link, inode)
		}
	})
}
