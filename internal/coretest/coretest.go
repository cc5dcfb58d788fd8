// Package coretest writes the configuration that Icinga 2 and Nagios 4 need
// around the shipped sockwatch configuration in a test: every directory
// the daemon writes to under the test's own, running as root, with a host
// web1 and its services written the way users write them. The unit tests
// of package nagios validate the shipped files with it (icinga2 daemon -C,
// nagios4 -v); cores/ runs the daemons on it.
package coretest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Host is the host every test configuration defines, on loopback.
const Host = "web1"

// Icinga2Defines creates under dir every directory Icinga 2 writes to and
// returns the -D flags pointing it there, to pass to every icinga2
// command. They make it run as root: Debian's icinga2 drops to the nagios
// user, which cannot write in a test's directory (nor read the live
// drills' proc roots).
func Icinga2Defines(t testing.TB, dir string) []string {
	t.Helper()
	defines := []string{"-DRunAsUser=root", "-DRunAsGroup=root"}
	for _, d := range []string{"DataDir", "CacheDir", "LogDir", "SpoolDir", "InitRunDir"} {
		path := filepath.Join(dir, d)
		require.NoError(t, os.Mkdir(path, 0o755))
		defines = append(defines, "-D"+d+"="+path)
	}
	return defines
}

// Icinga2Head starts an Icinga 2 configuration: the plugin directory, the
// ITL with its plugin commands, the file holding the CheckCommand under
// test (the shipped icinga2/sockwatch.conf), and the host.
func Icinga2Head(pluginDir, commands string) string {
	return fmt.Sprintf(`const PluginDir = %q
include <itl>
include <plugins>
include %q

object Host %q {
	check_command = "dummy"
	address = "127.0.0.1"
}
`, pluginDir, commands, Host)
}

// Nagios4Always is the time period every Nagios 4 object of a test uses.
const Nagios4Always = `define timeperiod {
	timeperiod_name	always
	alias		always
	monday		00:00-24:00
	tuesday		00:00-24:00
	wednesday	00:00-24:00
	thursday	00:00-24:00
	friday		00:00-24:00
	saturday	00:00-24:00
	sunday		00:00-24:00
}
`

// Nagios4Contact defines a contact notified of services by command, on
// the service states in options ("w,u,c,r"; "n" for none), never of
// hosts.
func Nagios4Contact(name, command, options string) string {
	return fmt.Sprintf(`define contact {
	contact_name			%s
	host_notification_period	always
	service_notification_period	always
	host_notification_options	n
	service_notification_options	%s
	host_notification_commands	%s
	service_notification_commands	%s
}
`, name, options, command, command)
}

// Nagios4Host defines a host that is never checked itself (one attempt,
// no notifications but to contact).
func Nagios4Host(name, address, contact string) string {
	return fmt.Sprintf(`define host {
	host_name		%s
	address			%s
	max_check_attempts	1
	check_period		always
	notification_period	always
	contacts		%s
}
`, name, address, contact)
}

// Nagios4Service is a service definition.
type Nagios4Service struct {
	Host, Description, Command, Contact string
	MaxCheckAttempts                    int
	// Interval is both check_interval and retry_interval, in units of
	// interval_length.
	Interval int
	// NotificationInterval is left to Nagios's default when 0.
	NotificationInterval int
}

func (s Nagios4Service) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, `define service {
	host_name		%s
	service_description	%s
	check_command		%s
	max_check_attempts	%d
	check_interval		%d
	retry_interval		%d
	check_period		always
	notification_period	always
`, s.Host, s.Description, s.Command, s.MaxCheckAttempts, s.Interval, s.Interval)
	if s.NotificationInterval > 0 {
		fmt.Fprintf(&b, "\tnotification_interval\t%d\n", s.NotificationInterval)
	}
	fmt.Fprintf(&b, "\tcontacts\t\t%s\n}\n", s.Contact)
	return b.String()
}

// Nagios4Config writes a Nagios 4 main configuration in dir, with every
// file Nagios writes there, running as root: $USER1$ is plugins, the
// object files are commands (the shipped file under test) and objects
// (written to dir/objects.cfg), and settings are further main
// configuration lines. It returns the main configuration's path, to pass
// to nagios4.
func Nagios4Config(t testing.TB, dir, plugins, commands, objects string, settings ...string) string {
	t.Helper()
	in := func(name string) string { return filepath.Join(dir, name) }
	write := func(name, text string) string {
		require.NoError(t, os.WriteFile(in(name), []byte(text), 0o644))
		return in(name)
	}
	write("resource.cfg", "$USER1$="+plugins+"\n")
	lines := append([]string{
		"cfg_file=" + commands,
		"cfg_file=" + write("objects.cfg", objects),
		"resource_file=" + in("resource.cfg"),
		"log_file=" + in("nagios.log"),
		"status_file=" + in("status.dat"),
		"lock_file=" + in("nagios.lock"),
		"temp_file=" + in("nagios.tmp"),
		"check_result_path=" + dir,
		"object_cache_file=" + in("objects.cache"),
		"precached_object_file=" + in("objects.precache"),
		"illegal_macro_output_chars=`~$&|'\"<>",
		"nagios_user=root",
		"nagios_group=root",
	}, settings...)
	return write("nagios.cfg", strings.Join(lines, "\n")+"\n")
}
