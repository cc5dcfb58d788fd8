//go:build !linux || !amd64

package bpf

// Tracer cannot run here: the programs are built for x86-64 Linux.
type Tracer struct{}

// Open says what is missing.
func Open(Options) (*Tracer, error) {
	return nil, &Unavailable{Missing: "an x86-64 Linux kernel (the eBPF programs are built for it)"}
}

// Read is never reached: Open returns no Tracer.
func (*Tracer) Read() (*Sample, error) { return nil, &Unavailable{Missing: "an x86-64 Linux kernel"} }

// Close does nothing.
func (*Tracer) Close() error { return nil }
