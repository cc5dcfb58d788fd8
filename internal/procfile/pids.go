package procfile

import "os"

// ListPids returns the names of the process directories under root, in
// the order the directory lists them.
func ListPids(root string) ([]string, error) {
	// The errors of Open and Readdirnames name the directory already.
	f, err := os.Open(root)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	pids := names[:0]
	for _, n := range names {
		if isPid(n) {
			pids = append(pids, n)
		}
	}
	return pids, nil
}

func isPid(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return false
		}
	}
	return true
}
