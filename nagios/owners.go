package nagios

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sockwatch/sockwatch"
)

// owners lists the cfg.Top largest socket owners, and the UNIX paths with
// the most sockets with their largest holders (where the BPF iterator read
// them), in the long output: who to look at, without running ss or lsof by
// hand. Unprivileged, only the user's own processes can be seen;
// the line says how many were not.
func (c *checker) owners() []string {
	o, err := c.ownerScan, c.ownerErr
	if err != nil {
		return []string{fmt.Sprintf("owners: cannot list processes (%v)", err)}
	}
	head := fmt.Sprintf("owners: %s in %s", plural(o.Sockets, "socket descriptor"), plural(int64(o.Processes), "process"))
	if o.NotInspected > 0 {
		head += fmt.Sprintf("; not inspected: %s (descriptors not readable: needs root or CAP_SYS_PTRACE)", plural(int64(o.NotInspected), "process"))
	}
	if o.DNSSockets.Known {
		head += fmt.Sprintf("; %s connected to DNS", plural(o.DNSSockets.Value, "UDP socket"))
	}
	lines := []string{head}
	for _, w := range o.ByProcess {
		lines = append(lines, fmt.Sprintf("  %s (%s): %s (%s) in %s", display(w.Name), display(w.User),
			plural(w.Sockets, "socket"), byProtocol(w), plural(w.Processes, "process")))
	}
	for _, p := range o.UnixPaths {
		line := fmt.Sprintf("  unix path %s: %s", display(p.Path), plural(p.Sockets, "socket"))
		if len(p.Holders) > 0 {
			held := make([]string, len(p.Holders))
			for i, h := range p.Holders {
				held[i] = fmt.Sprintf("%s (%s) %d", display(h.Name), display(h.User), h.Sockets)
			}
			line += "; held by " + strings.Join(held, ", ")
		}
		lines = append(lines, line)
	}
	if c.cfg.Verbose > 0 {
		lines = append(lines, "owners: "+o.How())
		for _, err := range o.Errors {
			lines = append(lines, fmt.Sprintf("owners: %v", err))
		}
	}
	return lines
}

// byProtocol lists an owner's sockets by protocol, those it has only:
// "1190 unix, 14 udp (3 dns)".
func byProtocol(w sockwatch.Owner) string {
	var parts []string
	for _, p := range []struct {
		n    int64
		name string
	}{{w.Unix, "unix"}, {w.TCP, "tcp"}, {w.UDP, "udp"}, {w.Raw, "raw"}, {w.Netlink, "netlink"}, {w.Other, "other"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.name))
		}
	}
	if w.DNS > 0 {
		parts = append(parts, fmt.Sprintf("%d of them to DNS", w.DNS))
	}
	return strings.Join(parts, ", ")
}

// display shows kernel text as it is when it reads plainly, and quoted with
// Go's escapes when it holds spaces, quotes, control characters or bytes
// that are not UTF-8, so that "php-fpm" stays php-fpm and a name made to
// look like output cannot.
func display(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == '"' || r == '\'' || r == '\\' || r == 0x7f || r == utf8.RuneError
	}) {
		return s
	}
	return strconv.Quote(s)
}

func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "s") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
