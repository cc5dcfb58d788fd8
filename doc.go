// Package sockwatch reads the Linux kernel's socket accounting: how many
// sockets exist and of which kind, how much memory TCP and UDP hold, how close
// each of those is to the limit the kernel enforces, and the event counters
// that say the kernel has already started refusing or killing connections.
//
// Everything is read from a proc root (HOST_PROC, else /proc) through a
// [Reader], one file per kernel source, and returned as plain Go values;
// figures derived from them (shares of a limit, the orphan penalty, a
// beancounter's hard limit) are computed here once, for every wrapper.
// Figures that cannot be read are unknown ([Num].Known is false), never
// zero: a container cannot see the host's tcp_mem, and a missing limit must
// not look like a limit of zero.
//
// It reads Linux's proc and builds on Linux only. It knows nothing of
// Telegraf or Nagios: the input plugin and the check are thin wrappers over
// [Reader.Read], [Reader.Namespaces], [Reader.Owners] and
// [Reader.UnixSockets]. Its plumbing (reading proc files, listing
// processes, naming namespaces) is in internal/procfile.
package sockwatch
