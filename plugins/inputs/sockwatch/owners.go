//go:build linux

package sockwatch

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/influxdata/telegraf"

	core "github.com/sockwatch/sockwatch"
)

// gatherOwners scans every process's descriptors and emits the owners_top
// largest owners (sockwatch_owner) and UNIX socket paths
// (sockwatch_unix_path), the paths of the host's net directory netDir, with
// the owners_top largest holders of each where the scan could tell them
// (sockwatch_unix_path_holder). The
// scan also counts the UNIX sockets and the UDP sockets connected to DNS,
// which go into the host fields.
func (s *Sockwatch) gatherOwners(acc telegraf.Accumulator, host map[string]any, netDir string, now time.Time) {
	o, err := s.reader.Owners(core.OwnerOptions{Top: s.OwnersTop, UnixNetDir: netDir})
	if err != nil {
		acc.AddError(err)
		return
	}
	for _, err := range o.Errors {
		acc.AddError(err)
	}
	// Logged at the first gather and when it changes (the iterator failed,
	// or works again), not at every gather.
	via := "owners " + o.How()
	if via != s.ownersVia {
		s.Log.Debug(via)
		s.ownersVia = via
	}
	putNum(host, "unix_sockets", o.UnixSockets)
	putNum(host, "udp_dns_sockets", o.DNSSockets)
	host["owner_processes_not_inspected"] = int64(o.NotInspected)
	for _, w := range o.ByProcess {
		acc.AddGauge("sockwatch_owner",
			map[string]any{
				"sockets":   w.Sockets,
				"unix":      w.Unix,
				"tcp":       w.TCP,
				"udp":       w.UDP,
				"raw":       w.Raw,
				"netlink":   w.Netlink,
				"other":     w.Other,
				"dns":       w.DNS,
				"processes": w.Processes,
			},
			map[string]string{"process_name": tagValue(w.Name), "user": tagValue(w.User)},
			now)
	}
	for _, p := range o.UnixPaths {
		path := tagValue(p.Path)
		acc.AddGauge("sockwatch_unix_path",
			map[string]any{"sockets": p.Sockets},
			map[string]string{"path": path},
			now)
		for _, h := range p.Holders {
			acc.AddGauge("sockwatch_unix_path_holder",
				map[string]any{"sockets": h.Sockets},
				map[string]string{"path": path, "process_name": tagValue(h.Name), "user": tagValue(h.User)},
				now)
		}
	}
}

// tagValue makes kernel text safe as a tag value in any output. Process names
// and socket paths are bytes the kernel does not check: line protocol must be
// UTF-8, and its serializer escapes tab, newline, comma, space and equals but
// not other control characters nor a backslash, which would escape the
// separator after it. Those are spelled out (\xNN), and an empty name, which
// outputs drop with its tag, becomes "(none)".
func tagValue(s string) string {
	if s == "" {
		return "(none)"
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' || c >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1, r < 0x20, r == 0x7f, r == '\\':
			b.WriteString(`\x`)
			b.WriteByte("0123456789abcdef"[s[i]>>4])
			b.WriteByte("0123456789abcdef"[s[i]&0xf])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
