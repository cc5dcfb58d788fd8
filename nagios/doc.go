// Package nagios is the sockwatch check, check_sockwatch: it reads the
// kernel's socket accounting with package sockwatch, judges it against the
// kernel's limits, and reports as a Monitoring Plugin through package
// nagios/plugin. Main is its only export; its flags, output and state file
// are described in README.md beside it and in check_sockwatch -h.
package nagios
