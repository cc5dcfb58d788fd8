//go:build ignore

// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
//
// Who is creating sockets: per process (tgid), sockets created by family, DNS
// lookups, and socket memory-limit hits by protocol, counted in the kernel.
// Every hook is a BTF tracepoint (tp_btf): nothing needs tracefs, kprobes or
// fentry trampolines (kernels built without them, or locked down, refuse
// those). Socket creation and DNS lookups are seen at the raw syscall exit
// tracepoint, which is why the object is built for one architecture (x86-64:
// its syscall numbers and registers).
//
// A process is keyed by its tgid and its start time, so a pid reused between
// two reads is a new entry, never the old process's counts continued.

#include "vmlinux.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>
#include <bpf_endian.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_UDPLITE 136
#define DNS_PORT 53
#define SK_MEM_SEND 0
#define EINPROGRESS 115
#define EEXIST 17
#define SOCK_TYPE_MASK 0xf
#define MAX_MMSG 8 // sendmmsg() messages looked at, each call

// x86-64 system call numbers.
#define NR_socket 41
#define NR_connect 42
#define NR_accept 43
#define NR_sendto 44
#define NR_sendmsg 46
#define NR_socketpair 53
#define NR_accept4 288
#define NR_sendmmsg 307
#define TASK_COMM_LEN 16

// Map sizes: LRU, so a fork storm evicts the least recently counted
// processes instead of growing the maps; user space reports evictions.
#define MAX_PROCESSES 16384
#define MAX_MEMORY_HITS 4096
#define MAX_SOCKETS 65536

struct process_key {
	__u32 tgid;
	__u32 pad;
	__u64 start; // the thread group leader's start time, ns since boot
};

enum sock_kind { FAMILY_UNIX, FAMILY_UDP, FAMILY_TCP, FAMILY_OTHER, FAMILIES };

struct process {
	__u64 created[FAMILIES];
	__u64 dns;
	__u32 uid;    // effective uid, as the owner scan reports it
	__u32 exited; // set when the last thread of the process exits
	__u32 generation; // the read generation of the last change
	__u32 pad;
	char comm[TASK_COMM_LEN];
};

struct memory_key {
	struct process_key process;
	char protocol[TASK_COMM_LEN]; // struct proto's name: TCP, UDPv6, UNIX...
};

struct memory_hits {
	__u64 hits;
	__u32 uid; // the owner's, else the socket's (sk_uid)
	__u32 pad;
	char comm[TASK_COMM_LEN]; // the owner's; empty when unknown
};

// generation is set by user space before each read of the process map:
// entries stamped with an older one did nothing since the previous read and
// are skipped without further work.
volatile __u32 generation;

enum map_stat {
	STAT_PROCESSES_ADDED,
	STAT_MEMORY_ADDED,
	// Inserts the map refused: an LRU map that finds no free entry on the
	// CPU's lists fails rather than evicts.
	STAT_PROCESSES_FAILED,
	STAT_MEMORY_FAILED,
	STATS
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_PROCESSES);
	__type(key, struct process_key);
	__type(value, struct process);
} processes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_MEMORY_HITS);
	__type(key, struct memory_key);
	__type(value, struct memory_hits);
} memory SEC(".maps");

// Entries added to each map: what user space saw and deleted subtracted
// from it is what the LRU evicted.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STATS);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

// The process that created each socket, by the socket's address, so that a
// memory-limit hit in the receive path (softirq, whatever task runs) is
// counted against its owner. A freed socket's address is reused by a later
// socket, which overwrites the entry when it is created.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	// One LRU list per CPU: no lock shared by every socket() of the host.
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, MAX_SOCKETS);
	__type(key, __u64);
	__type(value, struct process_key);
} owners SEC(".maps");

static __always_inline void count_stat(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&stats, &which);
	if (n)
		*n += 1;
}

// Loads through BTF pointers (task->group_leader->start_time) compile to
// plain loads the kernel guards, far cheaper than a helper call each: the
// syscall exit path runs for every system call of the host.

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

static __always_inline void task_key(struct task_struct *task, struct process_key *key)
{
	key->tgid = task->tgid;
	key->pad = 0;
	key->start = task->group_leader->start_time;
}

// set_identity sets the name and user of a process's entry: when it is
// created, and again when the process executes another program.
static __always_inline void set_identity(struct process *p, struct task_struct *task)
{
	p->uid = task->cred->euid.val;
	bpf_probe_read_kernel_str(p->comm, sizeof(p->comm), task->group_leader->comm);
}

// current_process returns the current process's entry, created if needed.
static __always_inline struct process *current_process(struct process_key *key)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct process *p;

	task_key(task, key);
	p = bpf_map_lookup_elem(&processes, key);
	if (p)
		return p;
	struct process fresh = {};
	set_identity(&fresh, task);
	long err = bpf_map_update_elem(&processes, key, &fresh, BPF_NOEXIST);
	if (err == 0)
		count_stat(STAT_PROCESSES_ADDED);
	else if (err != -EEXIST)
		count_stat(STAT_PROCESSES_FAILED);
	return bpf_map_lookup_elem(&processes, key);
}

static __always_inline enum sock_kind classify(int family, int type, int protocol)
{
	if (family == AF_UNIX)
		return FAMILY_UNIX;
	if (family != AF_INET && family != AF_INET6)
		return FAMILY_OTHER;
	if (type == SOCK_DGRAM &&
	    (protocol == 0 || protocol == IPPROTO_UDP || protocol == IPPROTO_UDPLITE))
		return FAMILY_UDP;
	if (type == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP))
		return FAMILY_TCP;
	return FAMILY_OTHER;
}

// fd_sock returns the socket behind the descriptor fd of task, or 0.
static __always_inline struct sock *fd_sock(struct task_struct *task, long fd)
{
	struct fdtable *fdt = task->files->fdt;
	struct file *file = 0;
	struct socket *sock;

	if (fd < 0 || fd >= fdt->max_fds)
		return 0;
	bpf_probe_read_kernel(&file, sizeof(file), &fdt->fd[fd]);
	if (!file)
		return 0;
	file = bpf_rdonly_cast(file, bpf_core_type_id_kernel(struct file));
	sock = bpf_rdonly_cast(file->private_data, bpf_core_type_id_kernel(struct socket));
	return sock->sk;
}

// count_created counts the sockets behind descriptors fd and fd2 (-1: none),
// by the family of the first, and records their owner.
static __always_inline void count_created(long fd, long fd2)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct process_key key;
	struct process *p;
	struct sock *sk = fd_sock(task, fd);
	enum sock_kind f;

	if (!sk)
		return;
	p = current_process(&key);
	if (!p)
		return;
	f = classify(sk->__sk_common.skc_family, sk->sk_type, sk->sk_protocol);
	if (f < FAMILIES)
		__sync_fetch_and_add(&p->created[f], fd2 < 0 ? 1 : 2);
	p->generation = generation;
	// The slab hands a freed socket's memory to the next socket, often of
	// the same process: writing over the entry in place is much cheaper
	// than an update, which replaces the element.
	__u64 addr = (__u64)sk;
	struct process_key *owner = bpf_map_lookup_elem(&owners, &addr);
	if (owner)
		*owner = key;
	else
		bpf_map_update_elem(&owners, &addr, &key, BPF_ANY);
	if (fd2 >= 0) {
		addr = (__u64)fd_sock(task, fd2);
		if (addr)
			bpf_map_update_elem(&owners, &addr, &key, BPF_ANY);
	}
}

// is_dns tells whether the user-space address addr is port 53 of IPv4 or
// IPv6: family and port are the first two 16-bit fields of both.
static __always_inline int is_dns(const void *addr, int len)
{
	__u16 head[2];

	if (!addr || len < (int)sizeof(struct sockaddr_in))
		return 0;
	if (bpf_probe_read_user(head, sizeof(head), addr))
		return 0;
	return (head[0] == AF_INET || head[0] == AF_INET6) && head[1] == bpf_htons(DNS_PORT);
}

static __always_inline void count_dns(__u64 n)
{
	struct process_key key;
	struct process *p;

	if (!n)
		return;
	p = current_process(&key);
	if (p) {
		__sync_fetch_and_add(&p->dns, n);
		p->generation = generation;
	}
}

// dns_msg tells whether the user-space msghdr msg is addressed to port 53.
static __always_inline int dns_msg(const struct user_msghdr *msg)
{
	struct user_msghdr m;

	if (bpf_probe_read_user(&m, sizeof(m), msg))
		return 0;
	return is_dns(m.msg_name, m.msg_namelen);
}

// At each system call's return: socket(), socketpair(), accept() and
// accept4() that made sockets; connect() to port 53 (what the C library's
// resolver does for each lookup, DNS over TCP included); sendto(), sendmsg()
// and sendmmsg() with a destination at port 53 (a send on a connected socket
// was counted at its connect()). The registers hold the call's arguments.
SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	long nr;

	if (ret < 0 && ret != -EINPROGRESS)
		return 0;
	nr = regs->orig_ax;
	switch (nr) {
	case NR_socket:
	case NR_accept:
	case NR_accept4:
		if (ret >= 0)
			count_created(ret, -1);
		break;
	case NR_socketpair: {
		int sv[2];
		if (ret == 0 && !bpf_probe_read_user(sv, sizeof(sv), (void *)regs->r10))
			count_created(sv[0], sv[1]);
		break;
	}
	case NR_connect:
		if (is_dns((void *)regs->si, regs->dx))
			count_dns(1);
		break;
	case NR_sendto:
		if (ret >= 0 && is_dns((void *)regs->r8, regs->r9))
			count_dns(1);
		break;
	case NR_sendmsg:
		if (ret >= 0 && dns_msg((void *)regs->si))
			count_dns(1);
		break;
	case NR_sendmmsg: {
		struct mmsghdr *vec = (void *)regs->si;
		__u64 n = 0;
		for (int i = 0; i < MAX_MMSG && i < ret; i++)
			n += dns_msg(&vec[i].msg_hdr);
		count_dns(n);
		break;
	}
	}
	return 0;
}

// sock:sock_exceed_buf_limit, where the kernel refuses a socket memory; the
// per-process face of "Out of socket memory".
SEC("tp_btf/sock_exceed_buf_limit")
int BPF_PROG(memory_limit, struct sock *sk, struct proto *prot, long allocated, int kind)
{
	struct memory_key key = {};
	__u64 addr = (__u64)sk;
	struct process_key *owner = bpf_map_lookup_elem(&owners, &addr);
	struct memory_hits *h;

	if (owner) {
		key.process = *owner;
	} else if (kind == SK_MEM_SEND) {
		// A socket made before tracing started, in its own send path.
		if (!current_process(&key.process))
			return 0;
	}
	// Otherwise the owner is unknown: key.process stays zero.
	BPF_CORE_READ_STR_INTO(&key.protocol, prot, name);
	h = bpf_map_lookup_elem(&memory, &key);
	if (!h) {
		struct memory_hits zero = {};
		struct process *p = bpf_map_lookup_elem(&processes, &key.process);
		if (p) {
			zero.uid = p->uid;
			__builtin_memcpy(zero.comm, p->comm, sizeof(zero.comm));
		} else {
			zero.uid = BPF_CORE_READ(sk, sk_uid.val);
		}
		long err = bpf_map_update_elem(&memory, &key, &zero, BPF_NOEXIST);
		if (err == 0)
			count_stat(STAT_MEMORY_ADDED);
		else if (err != -EEXIST)
			count_stat(STAT_MEMORY_FAILED);
		h = bpf_map_lookup_elem(&memory, &key);
		if (!h)
			return 0;
	}
	__sync_fetch_and_add(&h->hits, 1);
	return 0;
}

// Marks a process exited when its last thread exits, so that user space
// reports its final counts once and then frees the entry.
SEC("tp_btf/sched_process_exit")
int BPF_PROG(process_exit, struct task_struct *task)
{
	struct process_key key;
	struct process *p;

	if (task->signal->live.counter != 0)
		return 0;
	task_key(task, &key);
	p = bpf_map_lookup_elem(&processes, &key);
	if (p) {
		p->exited = 1;
		p->generation = generation;
	}
	return 0;
}

// A process that executes another program takes its name (and, set-uid,
// its user): the entry follows.
SEC("tp_btf/sched_process_exec")
int BPF_PROG(process_exec, struct task_struct *task)
{
	struct process_key key;
	struct process *p;

	task_key(task, &key);
	p = bpf_map_lookup_elem(&processes, &key);
	if (p)
		set_identity(p, task);
	return 0;
}

// collect_changed, run on demand by user space (BPF_PROG_RUN), copies the
// processes changed since the previous read into changed[] and counts the
// map's entries: one system call for the whole map, and no per-entry work
// in the kernel beyond a comparison for the processes that did nothing.
#define MAX_CHANGED 4096

struct changed_process {
	struct process_key key;
	struct process value;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CHANGED);
	__type(key, __u32);
	__type(value, struct changed_process);
} changed SEC(".maps");

// What the last collect_changed found: how many entries the map held, how
// many changed (at most MAX_CHANGED are in changed[]).
__u64 collected_present, collected_changed;

static long collect_one(struct bpf_map *map, struct process_key *key, struct process *p, void *ctx)
{
	__u32 g = generation;

	collected_present++;
	if (p->generation != g && p->generation != g - 1)
		return 0;
	__u32 i = collected_changed++;
	struct changed_process *slot = bpf_map_lookup_elem(&changed, &i);
	if (slot) {
		slot->key = *key;
		slot->value = *p;
	}
	return 0;
}

SEC("raw_tp")
int collect_changed(void *ctx)
{
	collected_present = 0;
	collected_changed = 0;
	bpf_for_each_map_elem(&processes, collect_one, 0, 0);
	return 0;
}
