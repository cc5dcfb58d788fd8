//go:build !linux

package testenv

import "golang.org/x/sys/unix"

// nosuid says whether the file system st describes ignores set-user-ID bits.
func nosuid(st *unix.Statfs_t) bool { return st.Flags&unix.MNT_NOSUID != 0 }
