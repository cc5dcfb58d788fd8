//go:build 386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm

package bpf

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf/link"
)

// TaskFiles is the task_file iterator program, loaded and attached: each
// call to Sockets runs it once over every process. Keeping it loaded keeps
// the privilege it took to load it (root, or CAP_BPF with CAP_PERFMON):
// running it again takes none.
type TaskFiles struct {
	objs taskfileObjects
	iter *link.Iter
}

// LoadTaskFiles loads and attaches the iterator. It needs the kernel's BTF
// (/sys/kernel/btf/vmlinux), Linux 5.16 or later (bpf_sock_from_file,
// bpf_skc_to_unix_sock), and
// the privilege to load tracing programs.
func LoadTaskFiles() (*TaskFiles, error) {
	t := &TaskFiles{}
	if err := loadTaskfileObjects(&t.objs, nil); err != nil {
		if errors.Is(err, os.ErrPermission) {
			// cilium/ebpf's own words blame RLIMIT_MEMLOCK, which kernels
			// that have this iterator no longer apply.
			return nil, fmt.Errorf("load task_file iterator: needs root, or CAP_BPF and CAP_PERFMON: %w", err)
		}
		return nil, fmt.Errorf("load task_file iterator: %w", err)
	}
	it, err := link.AttachIter(link.IterOptions{Program: t.objs.TaskfileSockets})
	if err != nil {
		t.objs.Close()
		return nil, fmt.Errorf("attach task_file iterator: %w", err)
	}
	t.iter = it
	return t, nil
}

// Close releases the program.
func (t *TaskFiles) Close() error {
	return errors.Join(t.iter.Close(), t.objs.Close())
}

// Sockets runs the iterator once and calls found with every socket
// descriptor, process by process in order of process ID (the descriptors of
// one process follow each other). It stops at the first error found
// returns.
func (t *TaskFiles) Sockets(found func(*TaskSocket) error) error {
	r, err := t.iter.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	return readTaskSockets(r, make([]byte, readBufSize), found)
}
