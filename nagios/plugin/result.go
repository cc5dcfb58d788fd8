package plugin

import (
	"io"
	"strings"
	"unicode/utf8"
)

// Result is what a check found: its state, the one-line summary, performance
// data and the long output lines that follow the first line.
type Result struct {
	State    State
	Summary  string
	Perfdata []Perfdata
	Long     []string
}

// Format writes the plugin output:
//
//	NAME STATE - summary | perfdata
//	long output line
//	...
//
// Text is cleaned of what would corrupt it: "|" (which starts performance
// data), newlines (a summary is one line) and invalid UTF-8. Kernel text
// such as paths and container names may hold any of them.
func (r *Result) Format(name string) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte(' ')
	b.WriteString(r.State.String())
	if r.Summary != "" {
		b.WriteString(" - ")
		b.WriteString(cleanText(r.Summary))
	}
	if len(r.Perfdata) > 0 {
		b.WriteString(" | ")
		b.WriteString(PerfString(r.Perfdata))
	}
	b.WriteByte('\n')
	for _, l := range r.Long {
		b.WriteString(cleanText(l))
		b.WriteByte('\n')
	}
	return b.String()
}

// Print writes the plugin output to w and returns the exit code, which is
// the state.
func (r *Result) Print(w io.Writer, name string) int {
	io.WriteString(w, r.Format(name))
	return int(r.State)
}

// cleanText makes s safe for one line of plugin output: "|" becomes the
// broken bar "¦", a newline the two characters \n, other control characters
// "?", and invalid UTF-8 "?".
func cleanText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	if !strings.ContainsFunc(s, func(r rune) bool { return r == '|' || r < ' ' || r == 0x7f }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '|':
			b.WriteRune('¦')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteByte(' ')
		case r < ' ' || r == 0x7f:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
