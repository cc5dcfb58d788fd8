package sockwatch

import (
	"bytes"
	"path/filepath"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// Kernel is a kernel release as sys/kernel/osrelease gives it
// ("3.10.0-123.el7.x86_64"): its major and minor numbers. The zero Kernel
// is unknown, and taken as recent.
type Kernel struct {
	Major, Minor int
}

// Before reports whether the release is known and older than major.minor.
func (k Kernel) Before(major, minor int) bool {
	if k.Major == 0 {
		return false
	}
	return k.Major < major || k.Major == major && k.Minor < minor
}

// readKernel reads root/sys/kernel/osrelease; the zero Kernel when it cannot
// be read or does not start with "MAJOR.MINOR".
func readKernel(fr *procfile.Reader, root string) Kernel {
	data, err := fr.Read(filepath.Join(root, "sys", "kernel", "osrelease"))
	if err != nil {
		return Kernel{}
	}
	return parseKernel(data)
}

func parseKernel(data []byte) Kernel {
	major, rest, ok := bytes.Cut(bytes.TrimSpace(data), []byte("."))
	if !ok {
		return Kernel{}
	}
	minor := rest
	if i := bytes.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minor = rest[:i]
	}
	ma, err1 := procfile.Atoi(major)
	mi, err2 := procfile.Atoi(minor)
	if err1 != nil || err2 != nil || ma <= 0 || ma > 1000 || mi < 0 || mi > 1000 || major[0] == '+' || minor[0] == '+' {
		return Kernel{}
	}
	return Kernel{Major: int(ma), Minor: int(mi)}
}
