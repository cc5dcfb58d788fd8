// Package plugin is a small implementation of the Monitoring Plugins API
// (https://www.monitoring-plugins.org/doc/guidelines.html) for checks
// written in Go, run by Nagios, Icinga, Naemon or NRPE:
//
//   - State and Result: the four states and their exit codes, and the
//     output "NAME STATE - summary | perfdata" with long output lines, text
//     cleaned of what would corrupt it;
//   - Range and Threshold: the guidelines' range syntax ("10", "10:",
//     "~:10", "10:20", "@10:20"), and thresholds over plain numbers whose
//     bounds may be in percent of a limit known at run time ("80%");
//   - Perfdata: performance data items, with labels from untrusted text
//     made safe for the parsers in use;
//   - Run and WithTimeout: a check bounded by its timeout, a panic or a
//     hang turned into UNKNOWN;
//   - StateFile: a state file kept between runs, locked, replaced
//     atomically, and safe from paths another user prepared.
//
// A check parses its thresholds, reads what it watches inside Run, judges
// the figures and prints the Result, whose state is the exit code: see the
// package example.
//
// No Go library for the plugin API can be fetched where it is built, and
// the API is small: the parts written here follow the guidelines, and the
// tests check the output against Debian's Monitoring::Plugin Perl modules.
// The package uses the standard library only.
package plugin
