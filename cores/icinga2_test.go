//go:build cores

package cores

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/coretest"
)

// icingaCheckInterval is the check and retry interval of every Icinga 2
// service: short, so that three attempts take seconds.
const icingaCheckInterval = "1s"

// icinga2 is a running Icinga 2: `icinga2 daemon` in the foreground with
// the shipped CheckCommand, a host, one service per scenario with Icinga's
// default max_check_attempts (3), a user paged by a NotificationCommand,
// and the REST API (an ApiListener on a free loopback port, an ApiUser)
// from which the check results are read.
type icinga2 struct {
	d    *daemon
	api  string
	http *http.Client
}

// icingaUser and icingaPassword are the ApiUser the test reads as.
const (
	icingaUser     = "cores"
	icingaPassword = "cores-test"
)

// startIcinga2 writes the configuration for services in dir and starts
// Icinga 2, every directory it writes to under dir, running as root (the
// live drills' proc roots are readable by root only). It returns once the
// API streams check results into each service's history.
func startIcinga2(t *testing.T, dir, plugins string, services []*service) *icinga2 {
	t.Helper()
	bin, err := exec.LookPath("icinga2")
	require.NoError(t, err, "icinga2 is needed (Debian: icinga2; make deps installs it)")
	port := freePort(t)
	defines := coretest.Icinga2Defines(t, dir)
	pki := func(args ...string) {
		out, err := exec.Command(bin, append(append([]string{"pki"}, args...), defines...)...).CombinedOutput()
		require.NoError(t, err, "icinga2 pki %s: %s", args[0], out)
	}
	// The ApiListener serves TLS only: a CA of its own under DataDir and
	// a certificate it signed for this node.
	certs := filepath.Join(dir, "DataDir", "certs")
	require.NoError(t, os.Mkdir(certs, 0o700))
	node := filepath.Join(certs, "cores")
	pki("new-ca")
	pki("new-cert", "--cn", "cores", "--key", node+".key", "--csr", node+".csr")
	pki("sign-csr", "--csr", node+".csr", "--cert", node+".crt")
	ca, err := os.ReadFile(filepath.Join(dir, "DataDir", "ca", "ca.crt"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(certs, "ca.crt"), ca, 0o644))

	var conf strings.Builder
	conf.WriteString(coretest.Icinga2Head(plugins, shippedConfig(t, "icinga2", "sockwatch.conf")))
	fmt.Fprintf(&conf, `
const NodeName = "cores"
const ZoneName = "cores"
object CheckerComponent "checker" {}
object NotificationComponent "notification" {}
object ApiListener "api" {
	bind_host = "127.0.0.1"
	bind_port = %d
}
object Endpoint NodeName {}
object Zone ZoneName { endpoints = [ NodeName ] }
object ApiUser %q {
	password = %q
	permissions = [ "objects/query/*", "events/*" ]
}

object User "oncall" {}
object NotificationCommand "page" {
	command = [ %q, "$service.name$", "$notification.type$", "$service.state$", "$service.state_type$", "$service.output$" ]
}
apply Notification "page" to Service {
	command = "page"
	users = [ "oncall" ]
	assign where true
}
`, port, icingaUser, icingaPassword, pageScript(t, dir))
	for _, s := range services {
		fmt.Fprintf(&conf, `
object Service %q {
	host_name = %q
	check_command = "sockwatch"
	check_interval = %s
	retry_interval = %s
%s}
`, s.name, coretest.Host, icingaCheckInterval, icingaCheckInterval, icingaVars(s.flags))
		s.h.pages = filepath.Join(dir, "pages", s.name)
	}
	cfg := filepath.Join(dir, "icinga2.conf")
	require.NoError(t, os.WriteFile(cfg, []byte(conf.String()), 0o644))

	argv := append([]string{bin, "daemon", "-c", cfg}, defines...)
	ic := &icinga2{d: startDaemon(t, "icinga2", dir, 0, argv...), api: fmt.Sprintf("https://127.0.0.1:%d", port)}
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(ca))
	// The node's certificate names "cores", not the address.
	ic.http = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "cores"}}}
	ic.stream(t, services)
	return ic
}

// icingaVars sets the check's flags as an Icinga user does, through the
// CheckCommand's custom variables.
func icingaVars(flags []string) string {
	var b strings.Builder
	var warn, crit []string
	for i := 0; i+1 < len(flags); i += 2 {
		v := flags[i+1]
		switch flags[i] {
		case "-w":
			warn = append(warn, fmt.Sprintf("%q", v))
		case "-c":
			crit = append(crit, fmt.Sprintf("%q", v))
		case "--proc-root":
			fmt.Fprintf(&b, "\tvars.sockwatch_proc_root = %q\n", v)
		case "--state-file":
			fmt.Fprintf(&b, "\tvars.sockwatch_state_file = %q\n", v)
		case "--hold":
			fmt.Fprintf(&b, "\tvars.sockwatch_hold = %q\n", v)
		case "-t":
			fmt.Fprintf(&b, "\tvars.sockwatch_timeout = %s\n", v)
		case "--top":
			fmt.Fprintf(&b, "\tvars.sockwatch_top = %s\n", v)
		default:
			panic("icingaVars: no variable for " + flags[i])
		}
	}
	if warn != nil {
		fmt.Fprintf(&b, "\tvars.sockwatch_warning = [ %s ]\n", strings.Join(warn, ", "))
	}
	if crit != nil {
		fmt.Fprintf(&b, "\tvars.sockwatch_critical = [ %s ]\n", strings.Join(crit, ", "))
	}
	return b.String()
}

// icingaEvent is a CheckResult of Icinga's event stream: vars_after holds
// the attempt and state type the result left the service in.
type icingaEvent struct {
	Service     string `json:"service"`
	CheckResult struct {
		State           float64  `json:"state"`
		Output          string   `json:"output"`
		PerformanceData []string `json:"performance_data"`
		ExecutionStart  float64  `json:"execution_start"`
		ExecutionEnd    float64  `json:"execution_end"`
		VarsAfter       struct {
			Attempt   float64 `json:"attempt"`
			State     float64 `json:"state"`
			StateType float64 `json:"state_type"`
		} `json:"vars_after"`
	} `json:"check_result"`
}

// stream subscribes to the API's CheckResult events, once the API
// answers, and adds each to its service's history until the test ends.
func (ic *icinga2) stream(t *testing.T, services []*service) {
	t.Helper()
	byName := map[string]*history{}
	for _, s := range services {
		byName[s.name] = s.h
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var resp *http.Response
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		ic.d.requireRunning()
		body := `{"queue":"cores","types":["CheckResult"]}`
		req, err := http.NewRequestWithContext(ctx, "POST", ic.api+"/v1/events", strings.NewReader(body))
		require.NoError(t, err)
		req.SetBasicAuth(icingaUser, icingaPassword)
		req.Header.Set("Accept", "application/json")
		resp, err = ic.http.Do(req)
		if err == nil && resp.StatusCode == http.StatusOK {
			break
		}
		if err == nil {
			msg := new(bytes.Buffer)
			msg.ReadFrom(resp.Body)
			resp.Body.Close()
			err = fmt.Errorf("%s: %s", resp.Status, msg)
		}
		require.False(t, time.Now().After(deadline), "Icinga 2's API did not answer: %v\n%s", err, ic.d.logTail())
	}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var e icingaEvent
			if json.Unmarshal(sc.Bytes(), &e) != nil {
				continue
			}
			h := byName[e.Service]
			if h == nil {
				continue
			}
			cr := e.CheckResult
			typ := "SOFT"
			if cr.VarsAfter.StateType == 1 {
				typ = "HARD"
			}
			first, long, _ := strings.Cut(cr.Output, "\n")
			h.add(result{
				At:       unixTime(cr.ExecutionStart),
				Duration: time.Duration((cr.ExecutionEnd - cr.ExecutionStart) * float64(time.Second)),
				State:    stateName(int(cr.State)),
				Type:     typ,
				Attempt:  int(cr.VarsAfter.Attempt),
				Output:   strings.TrimRight(first, " ") + "\n" + long,
				Perf:     strings.Join(cr.PerformanceData, " "),
			})
		}
	}()
}

func unixTime(sec float64) time.Time {
	return time.Unix(0, int64(sec*float64(time.Second)))
}

// freePort returns a TCP port free on loopback now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
