// Command checkcost times check_sockwatch against `ss -s` on a host with
// 1,000 processes (make bench; root). The check reads every network
// namespace for its host-wide counters, one process each, which costs a
// look at every process: its goal is to stay within 2x of `ss -s`, the
// summary an operator runs by hand.
//
// It starts sleeping processes until the host has -procs of them, -netns of
// them each in a network namespace of its own, then runs `ss -s` and the
// check (with its state file, as a core runs it) alternately -runs times
// each, and prints the median and 90th percentile wall time of each and
// the ratio of the medians. It exits 1 when the check's median is more than
// twice that of `ss -s`. The processes are killed, and reaped, before it
// exits.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"
)

func main() { os.Exit(run()) }

// run returns the exit code once the processes it started are killed and
// reaped, so that a run right after this one counts none of them.
func run() int {
	procs := flag.Int("procs", 1000, "processes the host should have")
	netns := flag.Int("netns", 20, "of them, processes in a network namespace of their own")
	runs := flag.Int("runs", 200, "runs of each command")
	flag.Parse()

	tmp, err := os.MkdirTemp("", "checkcost")
	must(err)
	defer os.RemoveAll(tmp)
	check := filepath.Join(tmp, "check_sockwatch")
	build := exec.Command("go", "build", "-o", check, "./cmd/check_sockwatch")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	must(build.Run())

	var started []*exec.Cmd
	defer func() {
		for _, c := range started {
			c.Process.Kill()
			c.Wait()
		}
	}()
	for i := 0; countPids() < *procs; i++ {
		c := exec.Command("sleep", "600")
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if i < *netns {
			c.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET
		}
		must(c.Start())
		started = append(started, c)
	}
	fmt.Printf("host: %d processes (%d started, %d in network namespaces of their own); %d runs of each, alternating\n",
		countPids(), len(started), min(*netns, len(started)), *runs)

	state := filepath.Join(tmp, "state.json")
	cmds := []struct {
		name  string
		argv  []string
		times []time.Duration
	}{
		{name: "ss -s", argv: []string{"ss", "-s"}},
		{name: "check_sockwatch", argv: []string{check, "--state-file", state}},
	}
	for range *runs {
		for i := range cmds {
			c := exec.Command(cmds[i].argv[0], cmds[i].argv[1:]...)
			start := time.Now()
			err := c.Run()
			d := time.Since(start)
			if ee, ok := err.(*exec.ExitError); ok && cmds[i].name == "check_sockwatch" && ee.ExitCode() < 3 {
				err = nil // WARNING or CRITICAL is a verdict, not a failure
			}
			must(err)
			cmds[i].times = append(cmds[i].times, d)
		}
	}
	for i := range cmds {
		slices.Sort(cmds[i].times)
		t := cmds[i].times
		fmt.Printf("%-16s median %6.2f ms  p90 %6.2f ms\n", cmds[i].name, ms(t[len(t)/2]), ms(t[len(t)*9/10]))
	}
	ratio := float64(cmds[1].times[*runs/2]) / float64(cmds[0].times[*runs/2])
	fmt.Printf("check_sockwatch / ss -s: %.2fx (goal: within 2x)\n", ratio)
	if ratio > 2 {
		return 1
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// countPids counts the processes of the host.
func countPids() int {
	entries, err := os.ReadDir("/proc")
	must(err)
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			n++
		}
	}
	return n
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkcost:", err)
		os.Exit(1)
	}
}
