package nagios

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sockwatch/sockwatch/nagios/plugin"
)

// Fuzz targets for what the check parses: the command line and the state
// file (ranges, thresholds and performance data are nagios/plugin's).

// FuzzParseArgs takes a command line as NUL-separated arguments.
func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{
		"-w\x00tw=80%\x00-c\x00orphans=~:25%",
		"--only=tw,orphans\x00--top\x005\x00-t\x003\x00-v\x00--verbose",
		"--proc-root\x00/x\x00--state-file=/y",
		"-w\x00bogus=1", "--critical\x00tw=20:10", "--top\x00-3", "-t\x000", "-t\x0099999999999999999999",
		"-h", "-V", "--only\x00tw,nope", "x", "-v=false", "--warning=files=@400:500",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := parseArgs(strings.Split(s, "\x00"))
		if err != nil {
			if cfg != nil {
				t.Fatalf("%q: a config with an error", s)
			}
			return
		}
		if cfg.Timeout <= 0 || cfg.Top < 0 || cfg.Verbose < 0 {
			t.Fatalf("%q: %+v", s, cfg)
		}
		for _, set := range []thresholdsFlag{cfg.Warn, cfg.Crit} {
			for m, th := range set {
				if !isMetric(m) {
					t.Fatalf("%q: threshold for unknown metric %q", s, m)
				}
				if _, err := plugin.ParseThreshold(th.String()); err != nil {
					t.Fatalf("%q: threshold %q kept though it does not parse", s, th)
				}
			}
		}
		for _, m := range cfg.Only {
			if !isMetric(m) {
				t.Fatalf("%q: --only kept unknown metric %q", s, m)
			}
		}
	})
}

func FuzzStateFile(f *testing.F) {
	f.Add([]byte(`{"version":1,"proc_root":"/proc","only":"","saved":"2024-01-02T03:04:05Z","counters":{"tcp_abort_on_memory":3}}`))
	f.Add([]byte(`{"version":2,"proc_root":"/proc","saved":"2024-01-02T03:04:05Z","counters":{"failcnt_numothersock_101":3},` +
		`"namespaces":{"ns4026531840/tcp_abort_on_memory":3},"totals":{"tcp_abort_on_memory":3},` +
		`"growth":{"tcp_abort_on_memory":{"by":2,"first":"2024-01-02T03:04:05Z","last":"2024-01-02T03:04:05Z"}},` +
		`"runs":{"only= top=0":"2024-01-02T03:04:05Z"}}`))
	f.Add([]byte(`{"version": 99}`))
	f.Add([]byte(`{"version":1,"counters":{"x":-9223372036854775808}}`))
	f.Add([]byte(`{"counters":{"x":1e400}}`))
	f.Add([]byte("garbage{"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := decodeState(data)
		if err != nil {
			if d != nil {
				t.Fatal("a state with an error")
			}
			return
		}
		for _, m := range []map[string]int64{d.Counters, d.Namespaces, d.Totals} {
			for k, v := range m {
				if v < 0 {
					t.Fatalf("counter %q = %d kept", k, v)
				}
			}
		}
		for k, g := range d.Growth {
			if g == nil || g.By <= 0 {
				t.Fatalf("growth %q = %+v kept", k, g)
			}
		}
		if len(data) > maxStateSize || !bytes.Contains(data, []byte("{")) && !bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
			t.Fatalf("%q decoded", data)
		}
	})
}
