package bpf

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const bpf2goCommand = "go run github.com/cilium/ebpf/cmd/bpf2go "

// TestCommittedObjectsMatchSources runs every bpf2go line of the package's
// //go:generate directives in a copy of the package and requires the
// generated Go files and objects to be byte for byte the committed ones: a C
// source changed without `make generate` fails here. bpf2go compiles with
// the package directory mapped to "." in debug paths and strips DWARF, so
// the same clang gives the same bytes wherever the tree lives.
func TestCommittedObjectsMatchSources(t *testing.T) {
	if _, err := exec.LookPath("clang"); err != nil {
		t.Skip("clang not installed (scripts/deps.sh installs it): objects not rebuilt")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bpf2go")
	build := exec.Command("go", "build", "-o", bin, "github.com/cilium/ebpf/cmd/bpf2go")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build bpf2go: %s", out)

	work := filepath.Join(tmp, "pkg")
	require.NoError(t, os.CopyFS(work, os.DirFS(".")))
	directives := generateDirectives(t)
	require.NotEmpty(t, directives, "no bpf2go //go:generate line in the package")

	for _, d := range directives {
		// Remove the committed output first, so that a file bpf2go no
		// longer writes cannot pass for a regenerated one.
		outputs := generatedFiles(t, work, d.ident)
		for _, f := range outputs {
			require.NoError(t, os.Remove(filepath.Join(work, f)))
		}
		cmd := exec.Command(bin, d.args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GOPACKAGE=bpf", "GOFILE="+d.file)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s: bpf2go %s: %s", d.file, strings.Join(d.args, " "), out)
		for _, f := range outputs {
			want, err := os.ReadFile(f)
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join(work, f))
			require.NoError(t, err, "bpf2go no longer writes %s", f)
			require.True(t, bytes.Equal(want, got),
				"%s differs from what the bpf2go line of %s produces: run `make generate` and commit", f, d.file)
		}
	}
}

type directive struct {
	file  string   // the Go file holding it
	ident string   // bpf2go's identifier: the stem of its output files
	args  []string // bpf2go's arguments
}

// generateDirectives returns the bpf2go //go:generate lines of the package.
func generateDirectives(t *testing.T) []directive {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var out []directive
	for _, name := range files {
		f, err := os.Open(name)
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			rest, ok := strings.CutPrefix(sc.Text(), "//go:generate "+bpf2goCommand)
			if !ok {
				continue
			}
			args := splitArgs(t, rest)
			out = append(out, directive{file: name, ident: bpf2goIdent(t, args), args: args})
		}
		require.NoError(t, sc.Err())
		f.Close()
	}
	return out
}

// splitArgs splits a //go:generate line as go generate does: on spaces,
// with double-quoted Go strings as one argument.
func splitArgs(t *testing.T, line string) []string {
	t.Helper()
	var args []string
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimSpace(line) {
		if line[0] == '"' {
			q, err := strconv.QuotedPrefix(line)
			require.NoError(t, err, "in %q", line)
			s, _ := strconv.Unquote(q)
			args = append(args, s)
			line = line[len(q):]
			continue
		}
		end := strings.IndexByte(line, ' ')
		if end < 0 {
			end = len(line)
		}
		args = append(args, line[:end])
		line = line[end:]
	}
	return args
}

// bpf2goIdent returns bpf2go's first positional argument, the stem of the
// files it writes: flags before it come as -flag value pairs, except the
// boolean ones.
func bpf2goIdent(t *testing.T, args []string) string {
	t.Helper()
	boolean := map[string]bool{"-no-strip": true, "-no-global-types": true}
	for i := 0; i < len(args); i++ {
		if args[i] == "--" {
			break
		}
		if strings.HasPrefix(args[i], "-") {
			if !boolean[args[i]] && !strings.Contains(args[i], "=") {
				i++
			}
			continue
		}
		return args[i]
	}
	t.Fatalf("no identifier in bpf2go %s", strings.Join(args, " "))
	return ""
}

// generatedFiles returns the committed files bpf2go writes for ident:
// <ident>_<arch>_<endianness>.go and .o.
func generatedFiles(t *testing.T, dir, ident string) []string {
	t.Helper()
	var out []string
	for _, ext := range []string{".go", ".o"} {
		m, err := filepath.Glob(filepath.Join(dir, ident+"_*bpf[eb]l"+ext))
		require.NoError(t, err)
		for _, p := range m {
			out = append(out, filepath.Base(p))
		}
	}
	require.NotEmpty(t, out, "no committed bpf2go output for %s", ident)
	return out
}
