//go:build linux && amd64

package bpf

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target amd64 -type process_key -type process -type memory_key -type memory_hits creators creators.bpf.c -- -I/usr/include/bpf

import (
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Tracer holds the counting programs attached, from Open to Close. It is not
// safe for concurrent use.
type Tracer struct {
	objs  creatorsObjects
	links []link.Link

	last    time.Time
	prev    map[creatorsProcessKey]creatorsProcess
	prevMem map[creatorsMemoryKey]uint64
	// Entries this side saw and deleted; with the programs' own count of
	// entries added, what the maps evicted.
	deleted, deletedMem uint64

	// Read buffers, kept between reads.
	keys    []creatorsProcessKey
	vals    []creatorsProcess
	memKeys []creatorsMemoryKey
	memVals []creatorsMemoryHits
	gone    []creatorsProcessKey
}

// Open loads the programs and attaches them. Its error says what is missing
// (see Unavailable) when the kernel or the privileges do not allow it.
func Open(opts Options) (*Tracer, error) {
	if err := available(); err != nil {
		return nil, err
	}
	spec, err := loadCreators()
	if err != nil {
		return nil, err
	}
	if opts.MaxProcesses > 0 {
		spec.Maps["processes"].MaxEntries = opts.MaxProcesses
	}
	t := &Tracer{
		prev:    make(map[creatorsProcessKey]creatorsProcess),
		prevMem: make(map[creatorsMemoryKey]uint64),
	}
	if err := spec.LoadAndAssign(&t.objs, nil); err != nil {
		return nil, unavailable("load the eBPF programs", err)
	}
	progs := []*ebpf.Program{
		t.objs.SysExit,
		t.objs.MemoryLimit, t.objs.ProcessExit,
	}
	for _, p := range progs {
		l, err := link.AttachTracing(link.TracingOptions{Program: p})
		if err != nil {
			t.Close()
			return nil, unavailable(fmt.Sprintf("attach %s", p), err)
		}
		t.links = append(t.links, l)
	}
	t.keys = make([]creatorsProcessKey, spec.Maps["processes"].MaxEntries)
	t.vals = make([]creatorsProcess, len(t.keys))
	t.memKeys = make([]creatorsMemoryKey, spec.Maps["memory"].MaxEntries)
	t.memVals = make([]creatorsMemoryHits, len(t.memKeys))
	t.last = time.Now()
	return t, nil
}

// Close detaches the programs and frees the maps. It may be called more
// than once.
func (t *Tracer) Close() error {
	var errs []error
	for _, l := range t.links {
		errs = append(errs, l.Close())
	}
	t.links = nil
	errs = append(errs, t.objs.Close())
	t.objs = creatorsObjects{}
	return errors.Join(errs...)
}

// Read returns what happened since the previous Read (since Open for the
// first). A process that exited is reported once, with its last counts, and
// then forgotten.
func (t *Tracer) Read() (*Sample, error) {
	if t.objs.Processes == nil {
		return nil, errors.New("eBPF tracer closed")
	}
	// The count of entries added is read first: an entry added after it is
	// then at worst counted as present, never as evicted.
	added, err := t.added()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	s := &Sample{Interval: now.Sub(t.last)}
	t.last = now
	if err := t.readProcesses(s); err != nil {
		return nil, err
	}
	if err := t.readMemory(s); err != nil {
		return nil, err
	}
	s.DroppedProcesses = evicted(added[statProcessesAdded], t.deleted, len(t.prev))
	s.DroppedMemory = evicted(added[statMemoryAdded], t.deletedMem, len(t.prevMem))
	return s, nil
}

func (t *Tracer) readProcesses(s *Sample) error {
	n, err := batchLookup(t.objs.Processes, t.keys, t.vals)
	if err != nil {
		return fmt.Errorf("read the eBPF process map: %w", err)
	}
	seen := make(map[creatorsProcessKey]creatorsProcess, n)
	t.gone = t.gone[:0]
	for i := range n {
		k, v := t.keys[i], t.vals[i]
		old := t.prev[k]
		p := Process{PID: k.Tgid, Start: k.Start, Name: comm(v.Comm), UID: v.Uid, Exited: v.Exited != 0}
		for f := range p.Created {
			p.Created[f] = v.Created[f] - old.Created[f]
		}
		p.DNS = v.Dns - old.Dns
		if p.Sockets() > 0 || p.DNS > 0 {
			s.Processes = append(s.Processes, p)
		}
		if p.Exited {
			t.gone = append(t.gone, k)
			continue
		}
		seen[k] = v
	}
	t.prev = seen
	if len(t.gone) > 0 {
		// A key evicted meanwhile is no error: it is gone either way.
		deleted, err := t.objs.Processes.BatchDelete(t.gone, nil)
		t.deleted += uint64(deleted)
		if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("free exited processes in the eBPF map: %w", err)
		}
	}
	return nil
}

func (t *Tracer) readMemory(s *Sample) error {
	n, err := batchLookup(t.objs.Memory, t.memKeys, t.memVals)
	if err != nil {
		return fmt.Errorf("read the eBPF memory-limit map: %w", err)
	}
	exited := make(map[creatorsProcessKey]bool, len(t.gone))
	for _, k := range t.gone {
		exited[k] = true
	}
	seen := make(map[creatorsMemoryKey]uint64, n)
	var gone []creatorsMemoryKey
	for i := range n {
		k, v := t.memKeys[i], t.memVals[i]
		if d := v.Hits - t.prevMem[k]; d > 0 {
			s.Memory = append(s.Memory, MemoryHit{
				PID: k.Process.Tgid, Start: k.Process.Start, Name: comm(v.Comm), UID: v.Uid,
				Protocol: comm(k.Protocol), Hits: d,
			})
		}
		if exited[k.Process] {
			gone = append(gone, k)
			continue
		}
		seen[k] = v.Hits
	}
	t.prevMem = seen
	if len(gone) > 0 {
		deleted, err := t.objs.Memory.BatchDelete(gone, nil)
		t.deletedMem += uint64(deleted)
		if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("free exited processes' memory-limit hits: %w", err)
		}
	}
	return nil
}

// Stats indexes, as in the C source's enum map_stat.
const (
	statProcessesAdded = iota
	statMemoryAdded
	stats
)

// added returns how many entries the programs added to each map, summed over
// CPUs.
func (t *Tracer) added() ([stats]uint64, error) {
	var out [stats]uint64
	for i := range out {
		var perCPU []uint64
		if err := t.objs.Stats.Lookup(uint32(i), &perCPU); err != nil {
			return out, fmt.Errorf("read the eBPF stats map: %w", err)
		}
		for _, n := range perCPU {
			out[i] += n
		}
	}
	return out, nil
}

// evicted is what the map dropped: entries added, less those deleted here
// and those still present.
func evicted(added, deleted uint64, present int) uint64 {
	kept := deleted + uint64(present)
	if added <= kept {
		return 0
	}
	return added - kept
}

// batchLookup reads a whole hash map into keys and values, which are as long
// as the map's capacity, and returns how many entries it read.
func batchLookup[K, V any](m *ebpf.Map, keys []K, vals []V) (int, error) {
	var cursor ebpf.MapBatchCursor
	total := 0
	for total < len(keys) {
		n, err := m.BatchLookup(&cursor, keys[total:], vals[total:], nil)
		total += n
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			break
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// comm returns the C string in b, up to its first NUL.
func comm(b [16]int8) string {
	var s [16]byte
	n := 0
	for ; n < len(b) && b[n] != 0; n++ {
		s[n] = byte(b[n])
	}
	return string(s[:n])
}
