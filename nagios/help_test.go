package nagios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every example of -h is a command line the check accepts, and the NRPE
// example is the one the shipped NRPE configuration has.
func TestHelpExamples(t *testing.T) {
	_, examples, ok := strings.Cut(help(), "\nExamples:\n")
	require.True(t, ok, "-h has no Examples section")
	examples, _, _ = strings.Cut(examples, "\n\n")
	nrpe, err := os.ReadFile(filepath.Join("nrpe", "sockwatch.cfg"))
	require.NoError(t, err)
	var commands, kinds []string
	for line := range strings.Lines(examples) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "check_sockwatch"):
			commands = append(commands, line)
		case strings.HasPrefix(line, "command[") && strings.Contains(line, "/check_sockwatch"):
			require.Contains(t, string(nrpe), line+"\n", "the NRPE example is not in nrpe/sockwatch.cfg")
			_, cmd, _ := strings.Cut(line, "=")
			commands = append(commands, cmd)
		}
	}
	require.Len(t, commands, 6, "examples in -h:\n%s", examples)
	for _, c := range commands {
		args := strings.Fields(c)[1:]
		cfg, err := parseArgs(args)
		require.NoError(t, err, "example %q", c)
		switch {
		case cfg.Top > 0:
			kinds = append(kinds, "top")
		case cfg.Namespaces:
			kinds = append(kinds, "namespaces")
		case cfg.Hold != defaultHold:
			kinds = append(kinds, "hold")
		case strings.Contains(c, "%"):
			kinds = append(kinds, "percent")
		default:
			kinds = append(kinds, "plain")
		}
	}
	require.Equal(t, []string{"plain", "percent", "top", "namespaces", "hold", "top"}, kinds)
}
