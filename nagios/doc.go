// Package nagios is a small implementation of the Monitoring Plugins API
// (https://www.monitoring-plugins.org/doc/guidelines.html) — threshold
// ranges, performance data, states and the plugin output format — and the
// sockwatch check built on it and on package sockwatch.
//
// No Go library for the plugin API can be fetched where sockwatch is built,
// and the API is small: the parts written here follow the guidelines, and the
// tests check the output against Debian's Monitoring::Plugin Perl modules,
// Nagios 4 and Icinga 2.
package nagios
