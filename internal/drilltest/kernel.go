package drilltest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// KernelTable holds the figures of a proc table keyed "LABEL.key", such as
// "TCP.orphan" or "TcpExt.TCPAbortOnMemory". It is the drills' referee,
// parsed here independently of the core it judges.
type KernelTable map[string]int64

// ReadSockstat reads "LABEL: key value key value ..." lines.
func ReadSockstat(path string) (KernelTable, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k := KernelTable{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		label, rest, ok := strings.Cut(line, ":")
		f := strings.Fields(rest)
		if !ok || len(f)%2 != 0 {
			return nil, fmt.Errorf("%s: bad line %q", path, line)
		}
		for i := 0; i < len(f); i += 2 {
			v, err := strconv.ParseInt(f[i+1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			k[label+"."+f[i]] = v
		}
	}
	return k, nil
}

// ReadNetstat reads pairs of "Prefix: names" and "Prefix: values" lines.
func ReadNetstat(path string) (KernelTable, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines)%2 != 0 {
		return nil, fmt.Errorf("%s: odd number of lines", path)
	}
	k := KernelTable{}
	for i := 0; i < len(lines); i += 2 {
		p1, names, _ := strings.Cut(lines[i], ":")
		p2, vals, _ := strings.Cut(lines[i+1], ":")
		n, v := strings.Fields(names), strings.Fields(vals)
		if p1 != p2 || len(n) != len(v) {
			return nil, fmt.Errorf("%s: lines %d and %d do not pair", path, i+1, i+2)
		}
		for j := range n {
			x, err := strconv.ParseInt(v[j], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			k[p1+"."+n[j]] = x
		}
	}
	return k, nil
}

// ReadSysctl reads a sysctl of the test's (the initial) network namespace.
func ReadSysctl(name string) (string, error) {
	data, err := os.ReadFile("/proc/sys/" + name)
	return strings.TrimSpace(string(data)), err
}
