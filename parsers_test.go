package sockwatch

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseSockstatIgnoresUnknown(t *testing.T) {
	// A future kernel adding a key or a line must not break the reader.
	var s Sockstat
	err := parseSockstat("sockstat", []byte("sockets: used 5\nTCP: inuse 1 orphan 0 tw 2 alloc 1 mem 3 shiny 9\nMPTCP: inuse 4\n"), &s)
	require.NoError(t, err)
	require.Equal(t, Sockstat{SocketsUsed: n(5), TCPInUse: n(1), TCPOrphan: n(0), TCPTimeWait: n(2),
		TCPAlloc: n(1), TCPMemPages: n(3)}, s)
}

func TestParseSockstatErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                                "sockstat: empty",
		"\n\n":                            "sockstat: empty",
		"sockets: used":                   "sockstat:1: sockets: want key value pairs, got 1 fields",
		"sockets used 5":                  `sockstat:1: no "LABEL:" at the start of the line`,
		"sockets: used 5\nTCP:":           "sockstat:2: TCP: want key value pairs, got 0 fields",
		"TCP: inuse -3":                   `sockstat:1: TCP inuse: "-3" is not a count`,
		"TCP: inuse 1e3":                  `sockstat:1: TCP inuse: "1e3" is not a count`,
		"UDP: inuse 99999999999999999999": `sockstat:1: UDP inuse: "99999999999999999999" is not a count`,
		": inuse 1":                       `sockstat:1: no "LABEL:" at the start of the line`,
	} {
		var s Sockstat
		err := parseSockstat("sockstat", []byte(in), &s)
		require.EqualError(t, err, want, "input %q", in)
	}
}

func TestParseNetstatShape(t *testing.T) {
	ok := "TcpExt: A TCPAbortOnMemory\nTcpExt: 1 7\nIpExt: X\nIpExt: -5\nUdp: InDatagrams MemErrors\nUdp: 3 4\n"
	var c Counters
	require.NoError(t, parseNetstat("netstat", []byte(ok), &c))
	require.Equal(t, Counters{TCPAbortOnMemory: n(7), UDPMemErrors: n(4)}, c,
		"a negative value of a counter sockwatch does not read is not an error")

	for in, want := range map[string]string{
		"TcpExt: A B\n":                       "netstat:1: header without a line of values",
		"TcpExt: A B\nIpExt: 1 2\n":           "netstat:2: values do not follow the header of line 1",
		"TcpExt: A B\nTcpExt: 1\n":            "netstat:2: TcpExt: 2 names but 1 values",
		"TcpExt: TCPAbortOnMemory\nTcpExt: x": `netstat:2: TcpExt TCPAbortOnMemory: "x" is not a counter`,
		"no colon\nno colon\n":                "netstat:2: values do not follow the header of line 1",
	} {
		var c Counters
		require.EqualError(t, parseNetstat("netstat", []byte(in), &c), want, "input %q", in)
	}
}

func TestParseBeancountersErrors(t *testing.T) {
	const head = "Version: 2.5\n uid resource held maxheld barrier limit failcnt\n"
	for in, want := range map[string]string{
		"":                                       `user_beancounters: no "uid resource held ..." header`,
		"Version: 3.0\n":                         `user_beancounters:1: unsupported version line "Version: 3.0"`,
		"101: numothersock 1 2 3 4 5\n":          "user_beancounters:1: resource row before the header and a container ID",
		head + "numothersock 1 2 3 4 5\n":        "user_beancounters:3: resource row before the header and a container ID",
		head + "101: numothersock 1 2 3 4\n":     "user_beancounters:3: want resource and 5 values, got 5 fields",
		head + "101: numothersock 1 2 x 4 5\n":   `user_beancounters:3: numothersock: "x" is not an integer`,
		head + ": numothersock 1 2 3 4 5\n":      "user_beancounters:3: empty container ID",
		head + "101: numothersock 1 2 3 4 5 6\n": "user_beancounters:3: want resource and 5 values, got 7 fields",
	} {
		_, err := parseBeancounters("user_beancounters", []byte(in))
		require.EqualError(t, err, want, "input %q", in)
	}
	rows, err := parseBeancounters("user_beancounters", []byte(head+"  c4f9bc7f-a7e7:numothersock 1 2 3 4 5\n"))
	require.NoError(t, err)
	require.Equal(t, []Beancounter{{ID: "c4f9bc7f-a7e7", Resource: "numothersock",
		Held: 1, MaxHeld: 2, Barrier: 3, Limit: 4, FailCnt: 5}}, rows, "a Virtuozzo 7 name as ID")
}

func TestParseIntsExactCount(t *testing.T) {
	var a, b Num
	require.NoError(t, parseInts("f", []byte("1\t2\n"), []*Num{&a, &b}))
	require.Equal(t, []Num{n(1), n(2)}, []Num{a, b})
	for _, in := range []string{"", "1", "1 2 3", "1\n2\n", "a b"} {
		var x, y Num
		require.Error(t, parseInts("f", []byte(in), []*Num{&x, &y}), "input %q", in)
		require.False(t, x.Known || y.Known, "nothing set on error")
	}
}
