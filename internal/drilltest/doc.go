// Package drilltest provokes, live, the socket failures sockwatch exists
// for, inside private namespaces, for the drills (drills/) and the
// monitoring cores' tests (cores/): a holder process, the test binary
// started again as PID 1 of new network, PID and mount namespaces, runs
// loads on loopback on the test's commands; global sysctls are lowered for
// a bounded window and restored whatever happens; the kernel's own tables
// are read as the referee. It needs root.
package drilltest
