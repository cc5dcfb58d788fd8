// Package drills provokes, live and inside private namespaces, the socket
// failures sockwatch exists for, and asserts that the check and the Telegraf
// plugin report them as the kernel counts them. The drills are tests behind
// the build tag "drill" and need root: run them with `make drill`.
//
// Each drill starts the test binary again (internal/drilltest) as the
// holder of a new network, PID and mount namespace: PID 1 there, with its
// own /proc, it runs the drill's load on loopback on the test's
// commands, and /proc/<its pid>/root/proc is a proc root through which
// sockwatch sees the drill's namespace as the host. Killing it ends every
// process and socket of the drill.
package drills
