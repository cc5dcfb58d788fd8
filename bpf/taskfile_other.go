//go:build !(386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm)

package bpf

// TaskFiles cannot load here: the iterator's object is built for
// little-endian machines (bpf2go's bpfel target).
type TaskFiles struct{}

// LoadTaskFiles says what is missing.
func LoadTaskFiles() (*TaskFiles, error) {
	return nil, &Unavailable{Missing: "a little-endian machine (the task_file iterator is built for one)"}
}

// Close does nothing.
func (*TaskFiles) Close() error { return nil }

// Sockets is never reached: LoadTaskFiles returns no TaskFiles.
func (*TaskFiles) Sockets(func(*TaskSocket) error) error { return nil }
