package sockwatch

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// requireFileErrors checks that every error names a file under root.
func requireFileErrors(t *testing.T, root string, errs ...error) {
	t.Helper()
	for _, err := range errs {
		var fe *FileError
		require.ErrorAs(t, err, &fe, "%v", err)
		require.True(t, strings.HasPrefix(fe.Path, root+"/"), "%v does not name a file under %s", err, root)
		require.Contains(t, err.Error(), fe.Path)
	}
}

// TestVanishingFiles reads a proc tree whose files are, meanwhile, removed,
// cut short at any byte, emptied, filled with garbage and put back, both by
// rename and in place, as a dying process or a flaky mount would show them.
// Every read either succeeds with figures that are not negative, or fails
// with errors that name the file; nothing panics or hangs.
func TestVanishingFiles(t *testing.T) {
	root := testenv.CopyTree(t, filepath.Join("testdata", "openvz-host"), testenv.Owner)
	var files []string
	originals := map[string][]byte{}
	require.NoError(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, err := os.ReadFile(path)
			originals[path] = data
			files = append(files, path)
			return err
		}
		return err
	}))
	require.Greater(t, len(files), 10)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	faults := map[string]int{}
	wg.Go(func() {
		rnd := rand.New(rand.NewPCG(1, 2))
		for {
			select {
			case <-stop:
				return
			default:
			}
			path := files[rnd.IntN(len(files))]
			orig := originals[path]
			var fault string
			switch rnd.IntN(5) {
			case 0:
				fault = "removed"
				os.Remove(path)
			case 1:
				fault = "truncated"
				os.WriteFile(path, orig[:rnd.IntN(len(orig)+1)], 0o644)
			case 2:
				fault = "garbage"
				junk := make([]byte, rnd.IntN(256))
				for i := range junk {
					junk[i] = byte(rnd.UintN(256))
				}
				os.WriteFile(path, junk, 0o644)
			case 3:
				fault = "replaced"
				tmp := path + ".new"
				os.WriteFile(tmp, orig, 0o644)
				os.Rename(tmp, path)
			case 4:
				fault = "rewritten in place"
				os.WriteFile(path, orig, 0o644)
			}
			faults[fault]++
			time.Sleep(time.Duration(rnd.IntN(200)) * time.Microsecond)
		}
	})

	r := must(NewReader(root))
	reads, failed, partial := 0, 0, 0
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); reads++ {
		snap, err := r.Read()
		if err != nil {
			failed++
			requireFileErrors(t, root, err)
		} else {
			if len(snap.Errors) > 0 {
				partial++
			}
			requireFileErrors(t, root, snap.Errors...)
			st := snap.Sockstat
			for _, n := range []Num{st.SocketsUsed, st.TCPInUse, st.TCPOrphan, st.TCPTimeWait, st.TCPMemPages,
				snap.Limits.TCPMemMaxPages, snap.Limits.FilesMax, snap.Counters.TCPAbortOnMemory} {
				require.False(t, n.Known && n.Value < 0, "negative figure %d", n.Value)
			}
			_, _ = snap.NumOtherSock(), snap.TCPMemBytes()
		}
		if n, err := r.UnixSockets(); err != nil {
			requireFileErrors(t, root, err)
		} else {
			require.GreaterOrEqual(t, n.Value, int64(0))
		}
		o, err := ScanOwners(root, OwnerOptions{Top: 5})
		require.NoError(t, err, "the proc root itself stays")
		for _, err := range o.Errors {
			if !IsNotExist(err) {
				requireFileErrors(t, root, err)
			}
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d reads: %d failed, %d partial; faults injected: %v", reads, failed, partial, faults)
	require.Greater(t, reads, 100)
	require.Greater(t, failed, 0, "sockstat was broken at some point")
	require.Greater(t, reads-failed, 0, "some reads went through")
}

// TestProcessChurn scans this host's processes while helpers holding UNIX
// and DNS sockets, each in a network namespace of its own, start and are
// killed at random moments, some before they have their sockets, some
// while the scan reads their descriptors or udp tables. Processes that exit
// mid-scan are skipped without errors.
func TestProcessChurn(t *testing.T) {
	require.Equal(t, 0, os.Geteuid(), "the helpers need a network namespace each: run as root")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	started := 0
	wg.Go(func() {
		rnd := rand.New(rand.NewPCG(3, 4))
		dir := t.TempDir()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			mode := []string{"unix", "dns"}[i%2]
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "SOCKWATCH_TEST_HELPER="+mode, "HELPER_NAME=churn",
				"HELPER_N=8", "HELPER_PATH="+filepath.Join(dir, "s"+string(rune('a'+i%26))+".sock"))
			cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
			if cmd.Start() != nil {
				continue
			}
			started++
			time.Sleep(time.Duration(rnd.IntN(20)) * time.Millisecond)
			cmd.Process.Kill()
			cmd.Wait()
			os.Remove(filepath.Join(dir, "s"+string(rune('a'+i%26))+".sock"))
		}
	})
	r := must(NewReader("/proc"))
	scans := 0
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); scans++ {
		o, err := ScanOwners("/proc", OwnerOptions{Top: 5})
		require.NoError(t, err)
		require.Empty(t, o.Errors, "scan %d", scans)
		require.True(t, o.DNSSockets.Known)
		ns, err := r.Namespaces(nil)
		require.NoError(t, err)
		require.Empty(t, ns.Errors, "scan %d", scans)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d owner and namespace scans while %d helpers came and went", scans, started)
	require.Greater(t, started, 20)
}
