// Command check_sockwatch is the sockwatch Nagios/Icinga check: it warns
// before a Linux host runs out of sockets or socket memory. See
// check_sockwatch -h, and package nagios.
package main

import (
	"os"

	"github.com/sockwatch/sockwatch/nagios"
)

func main() {
	os.Exit(nagios.Main(os.Args[1:], os.Stdout))
}
