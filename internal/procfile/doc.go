// Package procfile is the plumbing of sockwatch's core: reading proc files
// (whole, with their descriptors held between reads, or streamed line by
// line), listing processes, naming a network namespace, parsing the
// "prefix:[N]" links of proc, and the errors that name the file and line a
// parse failed on. Every system call it makes on a proc path is retried on
// EINTR (see eintr.go), so the core follows one policy.
//
// It knows nothing of sockets: the parsers of each kernel source live in the
// core, one file per source.
package procfile
