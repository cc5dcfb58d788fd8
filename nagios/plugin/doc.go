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
// A check parses its flags, reads what it watches, compares the figures
// with its thresholds and returns a Result:
//
//	warn, _ := plugin.ParseThreshold("80%")
//	r := plugin.Run(10*time.Second, "reading /proc", func() *plugin.Result {
//		used, size := read()
//		w, _ := warn.Absolute(float64(size))
//		state := plugin.OK
//		if w.Alert(float64(used)) {
//			state = plugin.Warning
//		}
//		return &plugin.Result{State: state, Summary: fmt.Sprintf("%d of %d used", used, size),
//			Perfdata: []plugin.Perfdata{{Label: "used", Value: plugin.Int(used), UOM: plugin.UOMBytes, Warn: &w}}}
//	})
//	os.Exit(r.Print(os.Stdout, "DISK"))
//
// No Go library for the plugin API can be fetched where it is built, and
// the API is small: the parts written here follow the guidelines, and the
// tests check the output against Debian's Monitoring::Plugin Perl modules.
// The package uses the standard library only.
package plugin
