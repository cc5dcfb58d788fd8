package bpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/cilium/ebpf/btf"
	"github.com/stretchr/testify/require"
)

// TestRecordLayout checks the offsets readTaskSockets reads at against
// struct taskfile_record as the compiled object's BTF lays it out.
func TestRecordLayout(t *testing.T) {
	spec, err := loadTaskfile()
	require.NoError(t, err)
	var rec *btf.Struct
	require.NoError(t, spec.Types.TypeByName("taskfile_record", &rec))
	got := map[string]uint32{}
	for _, m := range rec.Members {
		got[m.Name] = m.Offset.Bytes()
	}
	require.Equal(t, map[string]uint32{
		"tgid": offTGID, "fd": offFD, "ino": offIno, "peer_ino": offPeerIno, "netns": offNetNS,
		"path_netns": offPathNetNS, "family": offFamily, "type": offType, "protocol": offProtocol, "dport": offDPort,
		"state": offState, "flags": offFlags, "path_len": offPathLen, "pad": 44,
	}, got)
	require.Equal(t, uint32(recordSize), rec.Size)
}

// taskRecord encodes one record as the program writes it.
func taskRecord(s TaskSocket) []byte {
	b := make([]byte, recordSize, recordSize+len(s.Path))
	binary.NativeEndian.PutUint32(b[offTGID:], s.TGID)
	binary.NativeEndian.PutUint32(b[offFD:], s.FD)
	binary.NativeEndian.PutUint64(b[offIno:], s.Inode)
	binary.NativeEndian.PutUint64(b[offPeerIno:], s.PeerInode)
	binary.NativeEndian.PutUint32(b[offNetNS:], s.NetNS)
	binary.NativeEndian.PutUint32(b[offPathNetNS:], s.PathNetNS)
	binary.NativeEndian.PutUint16(b[offFamily:], s.Family)
	binary.NativeEndian.PutUint16(b[offType:], s.Type)
	binary.NativeEndian.PutUint16(b[offProtocol:], s.Protocol)
	binary.BigEndian.PutUint16(b[offDPort:], s.DPort)
	b[offState] = s.State
	if s.PeerPath {
		b[offFlags] = flagPeerPath
	}
	binary.NativeEndian.PutUint16(b[offPathLen:], uint16(len(s.Path)))
	return append(b, s.Path...)
}

func collect(r io.Reader, bufSize int) ([]TaskSocket, error) {
	var got []TaskSocket
	err := readTaskSockets(r, make([]byte, bufSize), func(s *TaskSocket) error {
		c := *s
		c.Path = nil
		if len(s.Path) > 0 {
			c.Path = bytes.Clone(s.Path)
		}
		got = append(got, c)
		return nil
	})
	return got, err
}

// TestReadTaskSockets decodes records whatever the reads cut them into,
// paths with newlines, NULs and bytes that are not UTF-8 included.
func TestReadTaskSockets(t *testing.T) {
	want := []TaskSocket{
		{TGID: 1, FD: 3, Inode: 100, Family: 2, Type: 2, Protocol: 17, State: 1, DPort: 53, NetNS: 7, PathNetNS: 7},
		{TGID: 1, FD: 4, Inode: 101, PeerInode: 102, Family: 1, Type: 1, NetNS: 7, PathNetNS: 9, PeerPath: true,
			Path: []byte("/run/docker.sock\x00")},
		{TGID: 2, FD: 5, Inode: 103, Family: 1, Type: 2, NetNS: 7, PathNetNS: 7,
			Path: []byte("\x00abstract\nwith\x00nul\xff")},
		{TGID: 2, FD: 6, Inode: 104, Family: 1, Type: 1, NetNS: 7, PathNetNS: 7, Path: bytes.Repeat([]byte{'x'}, maxPath)},
	}
	var stream []byte
	for _, s := range want {
		stream = append(stream, taskRecord(s)...)
	}
	for _, tc := range []struct {
		name    string
		r       io.Reader
		bufSize int
	}{
		{"one read", bytes.NewReader(stream), readBufSize},
		{"byte by byte", iotest.OneByteReader(bytes.NewReader(stream)), readBufSize},
		{"half reads", iotest.HalfReader(bytes.NewReader(stream)), readBufSize},
		{"small buffer", bytes.NewReader(stream), recordSize + maxPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := collect(tc.r, tc.bufSize)
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}

// TestReadTaskSocketsErrors: a stream cut short, a path longer than
// sun_path, a failed read and an error of the callback are errors, never a
// wrong record.
func TestReadTaskSocketsErrors(t *testing.T) {
	ok := taskRecord(TaskSocket{TGID: 1, FD: 3, Family: 1, Path: []byte("/a\x00")})
	long := taskRecord(TaskSocket{TGID: 1})
	binary.NativeEndian.PutUint16(long[offPathLen:], maxPath+1)
	broken := errors.New("bad address")

	_, err := collect(bytes.NewReader(ok[:len(ok)-1]), readBufSize)
	require.ErrorIs(t, err, errRecord)
	require.ErrorContains(t, err, "50 bytes left at the end")
	_, err = collect(bytes.NewReader(ok[:10]), readBufSize)
	require.ErrorIs(t, err, errRecord)
	_, err = collect(bytes.NewReader(append(ok, long...)), readBufSize)
	require.ErrorIs(t, err, errRecord)
	got, err := collect(io.MultiReader(bytes.NewReader(ok), iotest.ErrReader(broken)), readBufSize)
	require.ErrorIs(t, err, broken)
	require.Len(t, got, 1)

	stop := errors.New("stop")
	err = readTaskSockets(bytes.NewReader(append(ok, ok...)), make([]byte, readBufSize), func(*TaskSocket) error { return stop })
	require.ErrorIs(t, err, stop)
}

// FuzzTaskSockets: any bytes decode into records or an error, never a
// panic or a path longer than sun_path.
func FuzzTaskSockets(f *testing.F) {
	f.Add(taskRecord(TaskSocket{TGID: 1, Family: 1, Path: []byte("/run/x.sock\x00")}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		readTaskSockets(bytes.NewReader(data), make([]byte, recordSize+maxPath), func(s *TaskSocket) error {
			if len(s.Path) > maxPath {
				t.Fatalf("path of %d bytes", len(s.Path))
			}
			return nil
		})
	})
}
