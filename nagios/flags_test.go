package nagios

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseArgs(t *testing.T) {
	cfg, err := parseArgs([]string{"-w", "orphans=15%", "--warning", "tw=70%", "--warning=tw=75%", "-c", "files=90%",
		"--only", "tw,orphans", "--only=tw", "--top", "5", "--proc-root", "/x", "--state-file=/y", "-t", "3", "-v", "--verbose"})
	require.NoError(t, err)
	require.Equal(t, "orphans=15%,tw=75%", cfg.Warn.String())
	require.Equal(t, "files=90%", cfg.Crit.String())
	require.Equal(t, []string{mOrphans, mTW}, cfg.Only)
	require.Equal(t, 5, cfg.Top)
	require.Equal(t, "/x", cfg.ProcRoot)
	require.Equal(t, "/y", cfg.StateFile)
	require.Equal(t, 3*time.Second, cfg.Timeout)
	require.Equal(t, 2, cfg.Verbose)

	cfg, err = parseArgs(nil)
	require.NoError(t, err)
	require.Equal(t, defaultTimeout, cfg.Timeout)
	require.Empty(t, cfg.Only)

	for args, flagName := range map[string]string{
		"-w orphans":       "-w",
		"--warning x=1":    "-warning",
		"-c tw=20:10":      "-c",
		"--critical tw=1x": "-critical",
		"--only foo":       "-only",
		"--top -1":         "-top",
		"--top x":          "-top",
		"-t 0":             "-t",
		"--timeout 1.5":    "-timeout",
		"--bogus":          "-bogus",
		"-w":               "-w",
	} {
		_, err := parseArgs(strings.Fields(args))
		require.ErrorContains(t, err, flagName, args)
	}
	_, err = parseArgs([]string{"orphans=1"})
	require.ErrorContains(t, err, "unexpected argument")
	_, err = parseArgs([]string{"-h"})
	require.ErrorIs(t, err, flag.ErrHelp)
	_, err = parseArgs([]string{"--version"})
	require.ErrorIs(t, err, errVersion)
}
