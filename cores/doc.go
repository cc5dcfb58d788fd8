// Package cores runs the real monitoring cores from Debian's packages,
// unmodified, around check_sockwatch: Icinga 2 (its REST API read back),
// Nagios 4 (its status.dat) and NRPE queried by check_nrpe through that
// Nagios. Each scenario is asserted through every core as the operator
// meets it: the SOFT retries, the HARD state, and the notifications that
// page the on-call person. The tests are behind the build tag "cores" and
// need root: run them with `make cores`.
//
// Every daemon runs in a temporary directory with its own ports, as PID 1
// of a PID namespace of its own, so that killing it ends every process it
// started, checks included; nothing of the machine's configuration, state
// directories or services is used or changed. NRPE, whose commands name
// absolute paths, runs in a mount namespace of its own where the plugin
// directory, the nagios user's home (where the check keeps its state) and,
// for the proc trees of the scenarios, /proc are the test's.
package cores
