package sockwatch

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/procfs"
	"github.com/stretchr/testify/require"
)

// procfs is the referee: on every well-formed scenario, what it parses from
// the same files must equal what sockwatch reports.
func TestProcfsAgrees(t *testing.T) {
	for _, name := range []string{"quiet-host", "out-of-socket-memory", "tcp-mem-pressure", "no-ipv6",
		"openvz-container", "openvz-host", "virtuozzo7", "host-proc-in-container"} {
		t.Run(name, func(t *testing.T) {
			s := readScenario(t, name)
			// procfs reads <root>/net; point it at the directory sockwatch chose.
			fs, err := procfs.NewFS(filepath.Dir(s.NetDir))
			require.NoError(t, err)

			st, err := fs.NetSockstat()
			require.NoError(t, err)
			require.Equal(t, s.Sockstat.SocketsUsed, n(int64(*st.Used)))
			for _, p := range st.Protocols {
				switch p.Protocol {
				case "TCP":
					require.Equal(t, s.Sockstat.TCPInUse, n(int64(p.InUse)))
					require.Equal(t, s.Sockstat.TCPOrphan, n(int64(*p.Orphan)))
					require.Equal(t, s.Sockstat.TCPTimeWait, n(int64(*p.TW)))
					require.Equal(t, s.Sockstat.TCPAlloc, n(int64(*p.Alloc)))
					require.Equal(t, s.Sockstat.TCPMemPages, n(int64(*p.Mem)))
				case "UDP":
					require.Equal(t, s.Sockstat.UDPInUse, n(int64(p.InUse)))
					require.Equal(t, s.Sockstat.UDPMemPages, n(int64(*p.Mem)))
				case "RAW":
					require.Equal(t, s.Sockstat.RawInUse, n(int64(p.InUse)))
				case "FRAG":
					require.Equal(t, s.Sockstat.FragInUse, n(int64(p.InUse)))
					require.Equal(t, s.Sockstat.FragMemoryBytes, n(int64(*p.Memory)))
				}
			}
			if s.Sockstat.TCP6InUse.Known {
				st6, err := fs.NetSockstat6()
				require.NoError(t, err)
				for _, p := range st6.Protocols {
					switch p.Protocol {
					case "TCP6":
						require.Equal(t, s.Sockstat.TCP6InUse, n(int64(p.InUse)))
					case "UDP6":
						require.Equal(t, s.Sockstat.UDP6InUse, n(int64(p.InUse)))
					}
				}
			}

			// procfs reads counters as <root>/<pid>/net: give it a root
			// where process 1's net is the snapshot's net directory.
			dir := t.TempDir()
			abs, err := filepath.Abs(filepath.Dir(s.NetDir))
			require.NoError(t, err)
			require.NoError(t, os.Symlink(abs, filepath.Join(dir, "1")))
			pfs, err := procfs.NewFS(dir)
			require.NoError(t, err)
			proc, err := pfs.Proc(1)
			require.NoError(t, err)

			ns, err := proc.Netstat()
			require.NoError(t, err)
			// procfs v0.23 declares TCPAbortOnMemory and TCPMemoryPressures
			// but never fills them, one reason sockwatch parses netstat itself.
			require.Nil(t, ns.TcpExt.TCPAbortOnMemory)
			require.True(t, s.Counters.TCPAbortOnMemory.Known)
			requireCounter(t, s.Counters.TCPTimeWaitOverflow, ns.TcpExt.TCPTimeWaitOverflow)
			snmp, err := proc.Snmp()
			require.NoError(t, err)
			requireCounter(t, s.Counters.UDPRcvbufErrors, snmp.Udp.RcvbufErrors)
			requireCounter(t, s.Counters.UDPSndbufErrors, snmp.Udp.SndbufErrors)
			if s.Counters.UDP6RcvbufErrors.Known {
				snmp6, err := proc.Snmp6()
				require.NoError(t, err)
				requireCounter(t, s.Counters.UDP6RcvbufErrors, snmp6.Udp6.RcvbufErrors)
				requireCounter(t, s.Counters.UDP6SndbufErrors, snmp6.Udp6.SndbufErrors)
			}
		})
	}
}

func requireCounter(t *testing.T, ours Num, theirs *float64) {
	t.Helper()
	require.NotNil(t, theirs, "procfs did not find the counter")
	require.Equal(t, n(int64(*theirs)), ours)
}
