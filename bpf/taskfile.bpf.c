//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//
// An iter/task_file program: one record per socket descriptor of every
// process, read from the socket itself (file -> socket -> sock), for the
// owner scan (taskfile.go reads the records).

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define UNIX_PATH_MAX 108
#define AF_UNIX 1

// One socket descriptor. The record is followed by path_len bytes of
// sun_path: the socket's own address, or, for a UNIX socket that has none,
// its peer's (flag TASKFILE_PEER_PATH). Layout mirrors taskfileRecord in
// taskfile.go.
struct taskfile_record {
	__u32 tgid;
	__u32 fd;
	__u64 ino;      // the socket's inode, as in socket:[INODE]
	__u64 peer_ino; // AF_UNIX: the peer's inode, 0 without one
	__u32 netns;    // inode of the socket's network namespace
	__u32 path_netns; // that of the socket whose address the path is
	__u16 family;   // 0 when the socket has no sock
	__u16 type;
	__u16 protocol;
	__u16 dport; // network byte order
	__u8 state;
	__u8 flags;
	__u16 path_len; // sun_path bytes that follow (addr->len less sun_family)
	__u32 pad;
};

#define TASKFILE_PEER_PATH 1

// The record and its path are written at once, from one buffer: a map value,
// since 152 bytes would crowd the 512-byte stack.
struct taskfile_buf {
	struct taskfile_record r;
	char path[UNIX_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct taskfile_buf);
} taskfile_scratch SEC(".maps");

// unix_address reads the address of u, if bound, into b->path; it returns
// the number of sun_path bytes, 0 when unbound.
static __always_inline __u16 unix_address(struct unix_sock *u, struct taskfile_buf *b)
{
	struct unix_address *addr = u->addr;
	if (!addr)
		return 0;
	int len = addr->len - (int)sizeof(__kernel_sa_family_t);
	if (len <= 0)
		return 0;
	if (len > UNIX_PATH_MAX)
		len = UNIX_PATH_MAX;
	const void *path = (const void *)addr + bpf_core_field_offset(struct unix_address, name) +
			   sizeof(__kernel_sa_family_t);
	if (bpf_probe_read_kernel(b->path, UNIX_PATH_MAX, path))
		return 0;
	return len;
}

SEC("iter/task_file")
int taskfile_sockets(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	if (!task || !file)
		return 0;
	// /proc/PID/fd shows the descriptors of the thread group leader; a
	// thread with a table of its own (unshare(CLONE_FILES)) is not there.
	if (task->pid != task->tgid)
		return 0;
	struct socket *sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;

	__u32 zero = 0;
	struct taskfile_buf *b = bpf_map_lookup_elem(&taskfile_scratch, &zero);
	if (!b)
		return 0;
	struct taskfile_record *r = &b->r;
	__builtin_memset(r, 0, sizeof(*r));
	r->tgid = task->tgid;
	r->fd = ctx->fd;
	// Fields of the BTF-typed pointers the iterator and the helpers give
	// are read directly: loads the verifier guards, relocated by CO-RE,
	// with no helper call (those were most of the cost per socket). Only
	// the path, an array at an offset, is copied by bpf_probe_read_kernel.
	r->ino = file->f_inode->i_ino;

	struct sock *sk = sock->sk;
	if (sk) {
		r->family = sk->__sk_common.skc_family;
		r->type = sk->sk_type;
		r->protocol = sk->sk_protocol;
		r->state = sk->__sk_common.skc_state;
		r->dport = sk->__sk_common.skc_dport;
		r->netns = sk->__sk_common.skc_net.net->ns.inum;
	}
	struct unix_sock *u = sk && r->family == AF_UNIX ? bpf_skc_to_unix_sock(sk) : NULL;
	if (u) {
		struct sock *peer = u->peer;
		r->path_len = unix_address(u, b);
		r->path_netns = r->netns;
		if (peer) {
			r->peer_ino = peer->sk_socket->file->f_inode->i_ino;
			struct unix_sock *pu = r->path_len ? NULL : bpf_skc_to_unix_sock(peer);
			if (pu) {
				r->path_len = unix_address(pu, b);
				if (r->path_len) {
					r->flags |= TASKFILE_PEER_PATH;
					r->path_netns = peer->__sk_common.skc_net.net->ns.inum;
				}
			}
		}
	}
	__u32 n = sizeof(*r) + r->path_len;
	if (n > sizeof(*b))
		n = sizeof(*b);
	bpf_seq_write(seq, b, n);
	return 0;
}
