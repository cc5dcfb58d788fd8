package sockwatch

import (
	"bytes"
	"strconv"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// DefaultPasswdFile is where user names are looked up by default.
const DefaultPasswdFile = "/etc/passwd"

// userNames maps uids to user names, from a passwd file.
type userNames map[uint32]string

// readUsers reads the passwd file at path (DefaultPasswdFile when empty).
// A missing file (a distroless container) is no error: every user is then
// shown by uid. Lines that are not "name:password:uid:..." (comments, NIS
// "+" entries) are skipped, as the C library skips them; the first entry of a
// uid wins, as for getpwuid.
func readUsers(path string) (userNames, error) {
	if path == "" {
		path = DefaultPasswdFile
	}
	var fr procfile.Reader
	data, err := fr.Read(path)
	if err != nil {
		if IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	return parseUsers(data), nil
}

// parseUsers reads the text of a passwd file.
func parseUsers(data []byte) userNames {
	u := make(userNames)
	procfile.Lines(data, func(_ int, line []byte) error {
		f := bytes.SplitN(line, []byte(":"), 4)
		if len(f) < 4 || len(f[0]) == 0 {
			return nil
		}
		uid, err := procfile.Atoi(f[2])
		if err != nil || uid < 0 || uid > 1<<32-1 {
			return nil
		}
		if _, dup := u[uint32(uid)]; !dup {
			u[uint32(uid)] = string(f[0])
		}
		return nil
	})
	return u
}

// name returns the user name of uid, or the uid in decimal when it has none.
func (u userNames) name(uid uint32) string {
	if n, ok := u[uid]; ok {
		return n
	}
	return strconv.FormatUint(uint64(uid), 10)
}
