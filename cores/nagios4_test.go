//go:build cores

package cores

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/coretest"
)

// nagiosInterval is the check and retry interval of every Nagios 4
// service, in seconds (interval_length is 1). Nagios writes status.dat
// every second: two seconds between checks let the test see each result.
const nagiosInterval = 2

// nagios4 is a running Nagios 4 with a minimal main configuration, the
// shipped commands, and one service per scenario (max_check_attempts 3),
// whose results are read from status.dat.
type nagios4 struct {
	d      *daemon
	status string
}

// nagiosService is a service as Nagios runs it: its host and check_command.
type nagiosService struct {
	*service
	host, address, command string
}

// startNagios4 writes the configuration for services in dir and starts
// Nagios 4 as root, in the network namespace of process netns (where the
// NRPE daemons listen). It returns once status.dat is being written; the
// results are added to each service's history until the test ends.
func startNagios4(t *testing.T, dir, plugins string, netns int, services []nagiosService) *nagios4 {
	t.Helper()
	bin, err := exec.LookPath("nagios4")
	require.NoError(t, err, "nagios4 is needed (Debian: nagios4; make deps installs it)")
	in := func(name string) string { return filepath.Join(dir, name) }
	var objs strings.Builder
	objs.WriteString(coretest.Nagios4Always)
	fmt.Fprintf(&objs, `define command {
	command_name	page
	command_line	%s "$SERVICEDESC$" "$NOTIFICATIONTYPE$" "$SERVICESTATE$" "$SERVICESTATETYPE$" "$SERVICEOUTPUT$"
}
# An NRPE command other than the shipped check_nrpe_sockwatch's, by name.
define command {
	command_name	check_nrpe_command
	command_line	$USER1$/check_nrpe -H $HOSTADDRESS$ -c $ARG1$
}
`, pageScript(t, dir))
	objs.WriteString(coretest.Nagios4Contact("oncall", "page", "w,u,c,r"))
	hosts := map[string]bool{}
	for _, s := range services {
		if !hosts[s.host] {
			hosts[s.host] = true
			objs.WriteString(coretest.Nagios4Host(s.host, s.address, "oncall"))
		}
		// notification_interval is an hour, as interval_length is 1.
		objs.WriteString(coretest.Nagios4Service{Host: s.host, Description: s.name, Command: s.command, Contact: "oncall",
			MaxCheckAttempts: 3, Interval: nagiosInterval, NotificationInterval: 3600}.String())
		s.h.pages = filepath.Join(dir, "pages", s.name)
	}
	status := in("status.dat")
	cfg := coretest.Nagios4Config(t, dir, plugins, shippedConfig(t, "nagios4", "sockwatch.cfg"), objs.String(),
		"status_update_interval=1",
		"temp_path="+dir,
		"state_retention_file="+in("retention.dat"),
		"retain_state_information=0",
		"command_file="+in("nagios.cmd"),
		"check_external_commands=0",
		"query_socket="+in("nagios.qh"),
		"debug_file="+in("nagios.debug"),
		"interval_length=1",
		"service_inter_check_delay_method=n",
		"log_service_retries=1",
		"use_syslog=0",
		"check_workers=2",
	)
	out, err := exec.Command(bin, "-v", cfg).CombinedOutput()
	require.NoError(t, err, "nagios4 -v:\n%s", out)

	n := &nagios4{status: status}
	n.d = startDaemon(t, "nagios4", dir, 0, "nsenter", fmt.Sprintf("--net=/proc/%d/ns/net", netns), "--", bin, cfg)
	byName := map[string]*history{}
	for _, s := range services {
		byName[s.name] = s.h
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		n.d.requireRunning()
		if _, err := os.Stat(status); err == nil {
			break
		}
		require.False(t, time.Now().After(deadline), "Nagios 4 wrote no status.dat:\n%s", n.d.logTail())
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go n.poll(byName, stop)
	return n
}

// poll reads status.dat every 100 ms and adds each new result of a
// service to its history: a result is new when the time of the last
// check, the attempt, the state or its type changed.
func (n *nagios4) poll(byName map[string]*history, stop chan struct{}) {
	last := map[string]string{}
	for {
		select {
		case <-stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		blocks, err := readStatus(n.status)
		if err != nil {
			continue // between Nagios's rename and the next write
		}
		for _, b := range blocks {
			h := byName[b["service_description"]]
			if h == nil || b["has_been_checked"] != "1" {
				continue
			}
			key := strings.Join([]string{b["last_check"], b["current_attempt"], b["current_state"], b["state_type"]}, " ")
			if last[b["service_description"]] == key {
				continue
			}
			last[b["service_description"]] = key
			sec, _ := strconv.ParseInt(b["last_check"], 10, 64)
			code, _ := strconv.Atoi(b["current_state"])
			attempt, _ := strconv.Atoi(b["current_attempt"])
			took, _ := strconv.ParseFloat(b["check_execution_time"], 64)
			typ := "SOFT"
			if b["state_type"] == "1" {
				typ = "HARD"
			}
			output := b["plugin_output"] + "\n" + b["long_plugin_output"]
			h.add(result{At: time.Unix(sec, 0), Duration: time.Duration(took * float64(time.Second)),
				State: stateName(code), Type: typ, Attempt: attempt, Output: output, Perf: b["performance_data"]})
		}
	}
}

// readStatus reads the servicestatus blocks of a status.dat, values
// unescaped as Nagios escapes them (a newline as \n, a backslash as \\).
func readStatus(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var blocks []map[string]string
	var cur map[string]string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "servicestatus {":
			cur = map[string]string{}
		case line == "}" && cur != nil:
			blocks = append(blocks, cur)
			cur = nil
		case cur != nil:
			if k, v, ok := strings.Cut(line, "="); ok {
				cur[k] = unescapeStatus(v)
			}
		}
	}
	return blocks, sc.Err()
}

func unescapeStatus(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case '\\':
				b.WriteByte('\\')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
