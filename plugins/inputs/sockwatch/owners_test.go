//go:build linux

package sockwatch

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/metric"
	"github.com/influxdata/telegraf/plugins/parsers/influx"
	serializer "github.com/influxdata/telegraf/plugins/serializers/influx"
	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// hostile is kernel text that has broken parsers and line protocol before:
// every byte a process name or a socket path may hold but NUL.
var hostile = []string{
	"php-fpm", "", "x'=1;2 |", "a b", "a,b=c", "tab\there", "new\nline", "cr\rlf", `quo"te`,
	`back\`, `\`, `a\ b`, `a\,b`, "\xff\xfe", "bell\x07", "del\x7f", "é-utf8", "@abstract\x00name",
	"/run/php fpm\n'x'=1.sock",
}

// roundTrip serializes m with Telegraf's own influx serializer and parses
// the line back with its parser, which must read one metric: it returns
// that metric and the line.
func roundTrip(t testing.TB, m telegraf.Metric) (telegraf.Metric, []byte) {
	t.Helper()
	ser := &serializer.Serializer{}
	require.NoError(t, ser.Init())
	line, err := ser.Serialize(m)
	require.NoError(t, err, "%v", m)
	parser := &influx.Parser{}
	require.NoError(t, parser.Init())
	back, err := parser.Parse(line)
	require.NoError(t, err, "%q", line)
	require.Len(t, back, 1, "%q", line)
	return back[0], line
}

// Every hostile tag value survives Telegraf's own influx serializer and
// parser: one line per metric, the tag as tagValue made it, the field intact.
func TestTagValueRoundTrip(t *testing.T) {
	for _, s := range hostile {
		v := tagValue(s)
		require.NotEmpty(t, v)
		m := metric.New("sockwatch_unix_path", map[string]string{"path": v}, map[string]any{"sockets": int64(7)},
			time.Unix(1, 0))
		got, line := roundTrip(t, m)
		tag, ok := got.GetTag("path")
		require.True(t, ok)
		// The serializer escapes only what tagValue leaves: the value comes
		// back as tagValue wrote it.
		require.Equal(t, v, tag, "%q serialized as %q", s, line)
		require.Equal(t, map[string]any{"sockets": int64(7)}, got.Fields())
	}
}

func TestTagValue(t *testing.T) {
	for in, want := range map[string]string{
		"php-fpm":       "php-fpm",
		"":              "(none)",
		"x'=1;2 |":      "x'=1;2 |",
		"new\nline":     `new\x0aline`,
		`back\`:         `back\x5c`,
		"\xff\xfe":      `\xff\xfe`,
		"é-utf8":        "é-utf8",
		"@abs\x00tract": `@abs\x00tract`,
	} {
		require.Equal(t, want, tagValue(in), "%q", in)
	}
}

// ownerHelperEnv marks the re-executed test binary that holds sockets
// under a hostile process name for TestGatherOwnersLive.
const ownerHelperEnv = "SOCKWATCH_PLUGIN_OWNER_HELPER"

// ownerHelperFields are the fields of the helper's sockwatch_owner series:
// 9 UNIX sockets in one process.
var ownerHelperFields = map[string]any{"sockets": int64(9), "unix": int64(9), "tcp": int64(0), "udp": int64(0),
	"raw": int64(0), "netlink": int64(0), "other": int64(0), "dns": int64(0), "processes": int64(1)}

func init() {
	dir := os.Getenv(ownerHelperEnv)
	if dir == "" {
		return
	}
	// A process name with a quote, an equals sign, a newline, a pipe.
	// Package init runs on the main thread, whose name is the process's.
	name, err := unix.BytePtrFromString("w'=1\n|x")
	if err != nil {
		os.Exit(2)
	}
	if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0); err != nil {
		os.Exit(2)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "php fpm\n'x'=1.sock"))
	if err != nil {
		os.Exit(2)
	}
	var keep []net.Conn
	for range 4 {
		c, err := net.Dial("unix", l.Addr().String())
		if err != nil {
			os.Exit(2)
		}
		a, err := l.Accept()
		if err != nil {
			os.Exit(2)
		}
		keep = append(keep, c, a)
	}
	os.Stdout.WriteString("ready\n")
	bufio.NewReader(os.Stdin).ReadString('\n')
	// The connections close when collected: keep them until stdin closes.
	runtime.KeepAlive(keep)
	os.Exit(0)
}

// TestGatherOwnersLive gathers with owners on while a helper named
// "w'=1\n|x" holds a listener on a path with a space, a newline and quotes
// and 4 connections to it: 9 UNIX sockets, 5 bound to the path. The whole
// output goes through Telegraf's serializer and parser.
func TestGatherOwnersLive(t *testing.T) {
	dir := t.TempDir()
	testenv.StartHelper(t, ownerHelperEnv+"="+dir)

	log := &testutil.CaptureLogger{}
	s := &Sockwatch{ProcRoot: "/proc", Counters: true, Owners: true, OwnersTop: 1000, Log: log}
	require.NoError(t, s.Init())
	acc := gather(t, s)
	require.Empty(t, acc.Errors)
	var debug []string
	for _, m := range log.Messages() {
		debug = append(debug, m.Text)
	}
	require.Contains(t, debug, "owners read through the bpf task_file iterator", "root loads the iterator")

	var owner, path, holder telegraf.Metric
	for _, m := range acc.GetTelegrafMetrics() {
		back, _ := roundTrip(t, m)
		switch back.Name() {
		case "sockwatch_owner":
			if v, _ := back.GetTag("process_name"); v == `w'=1\x0a|x` {
				owner = back
			}
		case "sockwatch_unix_path":
			if v, _ := back.GetTag("path"); v == filepath.Join(dir, `php fpm\x0a'x'=1.sock`) {
				path = back
			}
		case "sockwatch_unix_path_holder":
			if v, _ := back.GetTag("path"); v == filepath.Join(dir, `php fpm\x0a'x'=1.sock`) {
				require.Nil(t, holder, "one holder: the helper")
				holder = back
			}
		}
	}
	require.NotNil(t, owner, "no owner for the helper")
	require.Equal(t, ownerHelperFields, owner.Fields())
	require.NotNil(t, path, "no unix path for the helper's listener")
	require.Equal(t, map[string]any{"sockets": int64(5)}, path.Fields())
	// The listener, the 4 accepted ends bound to the path, and the 4
	// clients connected to it.
	require.NotNil(t, holder, "no holder of the helper's path")
	require.Equal(t, map[string]any{"sockets": int64(9)}, holder.Fields())
	require.Equal(t, map[string]string{"path": filepath.Join(dir, `php fpm\x0a'x'=1.sock`),
		"process_name": `w'=1\x0a|x`, "user": "root"}, holder.Tags())
	host, ok := acc.Get("sockwatch")
	require.True(t, ok)
	require.Contains(t, host.Fields, "unix_sockets")
	require.Contains(t, host.Fields, "udp_dns_sockets")
	require.LessOrEqual(t, host.Fields["owner_processes_not_inspected"], int64(unptraceable(t)),
		"root inspects every process it may ptrace")
}
