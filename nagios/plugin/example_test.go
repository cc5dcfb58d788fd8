package plugin_test

import (
	"fmt"
	"os"
	"time"

	"github.com/sockwatch/sockwatch/nagios/plugin"
)

// A disk check with thresholds in percent of the disk's size, which it
// learns when it reads the disk.
func Example() {
	warn, _ := plugin.ParseThreshold("80%")
	crit, _ := plugin.ParseThreshold("95%")
	r := plugin.Run(10*time.Second, "reading /srv", func() *plugin.Result {
		used, size := int64(850), int64(1000) // what the check read
		w, _ := warn.Absolute(float64(size))
		c, _ := crit.Absolute(float64(size))
		state := plugin.OK
		switch {
		case c.Alert(float64(used)):
			state = plugin.Critical
		case w.Alert(float64(used)):
			state = plugin.Warning
		}
		zero, max := plugin.Int(0), plugin.Int(size)
		return &plugin.Result{
			State:   state,
			Summary: fmt.Sprintf("/srv %d of %d B used", used, size),
			Perfdata: []plugin.Perfdata{{Label: "/srv", Value: plugin.Int(used), UOM: plugin.UOMBytes,
				Warn: &w, Crit: &c, Min: &zero, Max: &max}},
		}
	})
	code := r.Print(os.Stdout, "DISK")
	fmt.Println("exit code", code)
	// Output:
	// DISK WARNING - /srv 850 of 1000 B used | /srv=850B;800;950;0;1000
	// exit code 1
}
