package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target bpfel taskfile taskfile.bpf.c -- -I.

// TaskSocket is one socket descriptor of a process, as the task_file
// iterator reads it from the socket. Its Path is only valid during the call
// it is handed to.
type TaskSocket struct {
	TGID  uint32 // the process, in the initial PID namespace
	FD    uint32
	Inode uint64 // as in the descriptor's link, socket:[INODE]
	// NetNS is the inode of the socket's network namespace (that of the
	// socket, not of the process holding it).
	NetNS uint32
	// Family, Type and Protocol are the socket's (AF_*, SOCK_*, IPPROTO_*);
	// Family is 0 for a socket without a sock (being torn down).
	Family   uint16
	Type     uint16
	Protocol uint16
	State    uint8  // the sock's state: TCP_ESTABLISHED (1) for a connected UDP socket
	DPort    uint16 // remote port, host byte order
	// For AF_UNIX: the peer's inode (0 without a peer), and the sun_path of
	// the socket's address, or of its peer's when it has none (PeerPath):
	// raw bytes, NULs included; empty when neither is bound.
	PeerInode uint64
	Path      []byte
	PeerPath  bool
	// PathNetNS is the network namespace of the socket whose address Path
	// is: the peer's for PeerPath, where a process of a container may be
	// connected to a socket of the host.
	PathNetNS uint32
}

// readBufSize holds several of the pages the kernel fills per read.
const readBufSize = 256 << 10

// The layout of struct taskfile_record (taskfile.bpf.c), which the path
// follows; TestRecordLayout checks it against the object's BTF.
const (
	offTGID      = 0
	offFD        = 4
	offIno       = 8
	offPeerIno   = 16
	offNetNS     = 24
	offPathNetNS = 28
	offFamily    = 32
	offType      = 34
	offProtocol  = 36
	offDPort     = 38
	offState     = 40
	offFlags     = 41
	offPathLen   = 42
	recordSize   = 48
)

// maxPath is UNIX_PATH_MAX: no sun_path is longer.
const maxPath = 108

const flagPeerPath = 1

var errRecord = errors.New("task_file iterator: malformed record")

// readTaskSockets decodes the records read from r, using buf to read into.
func readTaskSockets(r io.Reader, buf []byte, found func(*TaskSocket) error) error {
	var s TaskSocket
	have := 0
	for {
		n, err := r.Read(buf[have:])
		have += n
		done := 0
		for have-done >= recordSize {
			rec := buf[done:have]
			pathLen := int(binary.NativeEndian.Uint16(rec[offPathLen:]))
			if pathLen > maxPath {
				return errRecord
			}
			if len(rec) < recordSize+pathLen {
				break
			}
			s = TaskSocket{
				TGID:      binary.NativeEndian.Uint32(rec[offTGID:]),
				FD:        binary.NativeEndian.Uint32(rec[offFD:]),
				Inode:     binary.NativeEndian.Uint64(rec[offIno:]),
				PeerInode: binary.NativeEndian.Uint64(rec[offPeerIno:]),
				NetNS:     binary.NativeEndian.Uint32(rec[offNetNS:]),
				PathNetNS: binary.NativeEndian.Uint32(rec[offPathNetNS:]),
				Family:    binary.NativeEndian.Uint16(rec[offFamily:]),
				Type:      binary.NativeEndian.Uint16(rec[offType:]),
				Protocol:  binary.NativeEndian.Uint16(rec[offProtocol:]),
				DPort:     binary.BigEndian.Uint16(rec[offDPort:]),
				State:     rec[offState],
				PeerPath:  rec[offFlags]&flagPeerPath != 0,
				Path:      rec[recordSize : recordSize+pathLen],
			}
			if err := found(&s); err != nil {
				return err
			}
			done += recordSize + pathLen
		}
		have = copy(buf, buf[done:have])
		if err == io.EOF {
			if have != 0 {
				return fmt.Errorf("%w: %d bytes left at the end", errRecord, have)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("read task_file iterator: %w", err)
		}
	}
}
