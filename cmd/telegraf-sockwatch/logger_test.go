package main

import (
	"strings"
	"testing"

	"github.com/influxdata/telegraf"
	"github.com/stretchr/testify/require"
)

func TestExecdLogger(t *testing.T) {
	var out strings.Builder
	log := newExecdLogger(&out, telegraf.Info)
	log.Errorf("reading %s: %v", "/proc/net/unix", "bad line")
	log.Warn("cgroups = true, but ", "no sock line")
	log.Infof("started")
	log.Debugf("dropped at level info")
	// A path with a newline and a forged level in it stays inside the
	// message's level.
	log.Warnf("path %q", "/run/a\nE! forged")
	log.Warnf("unquoted /run/a\nE! forged\n")
	log.Error("")
	require.Equal(t, "E! reading /proc/net/unix: bad line\n"+
		"W! cgroups = true, but no sock line\n"+
		"I! started\n"+
		`W! path "/run/a\nE! forged"`+"\n"+
		"W! unquoted /run/a\n"+
		"W! E! forged\n"+
		"E! \n", out.String())
	require.Equal(t, telegraf.Info, log.Level())

	out.Reset()
	log = newExecdLogger(&out, telegraf.Debug)
	log.Debug("shown")
	log.Trace("not shown")
	require.Equal(t, "D! shown\n", out.String())
}
