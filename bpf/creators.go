//go:build linux && amd64

package bpf

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target amd64 -type process_key -type process -type memory_key -type memory_hits -type changed_process creators creators.bpf.c -- -I/usr/include/bpf

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Tracer holds the counting programs attached, from Open to Close. It is not
// safe for concurrent use.
type Tracer struct {
	objs    creatorsObjects
	links   []link.Link
	records []record // the changed processes, kept between reads
	indexes []uint32 // their indexes in changed[]

	last time.Time
	prev map[creatorsProcessKey]counts
	// generation is the one set at the last read (see the C source).
	generation uint32
	prevMem    map[creatorsMemoryKey]uint64
	// Entries this side saw and deleted; with the programs' own count of
	// entries added, what the maps evicted.
	deleted, deletedMem uint64

	maxProcesses int
	maxChanged   uint64 // the size of the changed array of the programs
	// Read buffers, kept between reads: one batch of entries at a time.
	keys    [batch]creatorsProcessKey
	vals    [batch]creatorsProcess
	memKeys [batch]creatorsMemoryKey
	memVals [batch]creatorsMemoryHits
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
		prev:    make(map[creatorsProcessKey]counts),
		prevMem: make(map[creatorsMemoryKey]uint64),
	}
	if err := spec.LoadAndAssign(&t.objs, nil); err != nil {
		return nil, unavailable("load the eBPF programs", err)
	}
	progs := []*ebpf.Program{
		t.objs.SysExit,
		t.objs.MemoryLimit, t.objs.ProcessExit, t.objs.ProcessExec,
	}
	for _, p := range progs {
		l, err := link.AttachTracing(link.TracingOptions{Program: p})
		if err != nil {
			t.Close()
			return nil, unavailable(fmt.Sprintf("attach %s", p), err)
		}
		t.links = append(t.links, l)
	}

	t.maxProcesses = int(spec.Maps["processes"].MaxEntries)
	t.maxChanged = uint64(spec.Maps["changed"].MaxEntries)
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
	s.DroppedProcesses = evicted(added[statProcessesAdded], t.deleted, s.present) + added[statProcessesFailed]
	s.DroppedMemory = evicted(added[statMemoryAdded], t.deletedMem, len(t.prevMem)) + added[statMemoryFailed]
	return s, nil
}

func (t *Tracer) readProcesses(s *Sample) error {
	// Entries changed from now on carry the new generation; those changed
	// since the previous read carry the one it set. collect_changed skips
	// older ones in the kernel: they did nothing since.
	t.generation++
	if err := t.objs.Generation.Set(t.generation); err != nil {
		return fmt.Errorf("set the eBPF read generation: %w", err)
	}
	t.gone = t.gone[:0]
	records, present, err := t.changed()
	if err != nil {
		return err
	}
	for i := range records {
		k, v := &records[i].Key, &records[i].Value
		old := t.prev[*k]
		p := Process{PID: k.Tgid, Start: k.Start, UID: v.Uid, Exited: v.Exited != 0}
		now := v.counts()
		for f := range p.Created {
			p.Created[f] = now[f] - old[f]
		}
		p.DNS = now[families] - old[families]
		if p.Sockets() > 0 || p.DNS > 0 {
			p.Name = comm(v.Comm)
			s.Processes = append(s.Processes, p)
		}
		if p.Exited {
			t.gone = append(t.gone, *k)
			delete(t.prev, *k)
			continue
		}
		t.prev[*k] = now
	}
	// Those deleted below are no longer present.
	s.present = present
	// Entries the map evicted stay here until this grows past twice the
	// map's size; then those no longer in the map are forgotten.
	if len(t.prev) > 2*t.maxProcesses {
		inMap := make(map[creatorsProcessKey]bool, t.maxProcesses)
		_, err := eachEntry(t.objs.Processes, t.keys[:], t.vals[:], func(k *creatorsProcessKey, _ *creatorsProcess) {
			inMap[*k] = true
		})
		if err != nil {
			return fmt.Errorf("read the eBPF process map: %w", err)
		}
		maps.DeleteFunc(t.prev, func(k creatorsProcessKey, _ counts) bool { return !inMap[k] })
	}
	if len(t.gone) > 0 {
		// A key evicted meanwhile is no error: it is gone either way.
		deleted, err := t.objs.Processes.BatchDelete(t.gone, nil)
		t.deleted += uint64(deleted)
		s.present -= deleted
		if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("free exited processes in the eBPF map: %w", err)
		}
	}
	return nil
}

// record is a process as collect_changed copies it.
type record = creatorsChangedProcess

// changed returns the processes changed since the previous read, and how
// many entries the map held. collect_changed walks the map in the kernel
// in one system call; when more processes changed than changed[] holds,
// the whole map is read instead.
func (t *Tracer) changed() ([]record, int, error) {
	if _, err := t.objs.CollectChanged.Run(&ebpf.RunOptions{}); err != nil {
		return nil, 0, fmt.Errorf("collect the changed processes: %w", err)
	}
	var present, changed uint64
	if err := t.objs.CollectedPresent.Get(&present); err != nil {
		return nil, 0, err
	}
	if err := t.objs.CollectedChanged.Get(&changed); err != nil {
		return nil, 0, err
	}
	t.records = t.records[:0]
	if changed > t.maxChanged {
		n, err := eachEntry(t.objs.Processes, t.keys[:], t.vals[:], func(k *creatorsProcessKey, v *creatorsProcess) {
			if v.Generation == t.generation || v.Generation == t.generation-1 {
				t.records = append(t.records, record{Key: *k, Value: *v})
			}
		})
		if err != nil {
			return nil, 0, fmt.Errorf("read the eBPF process map: %w", err)
		}
		return t.records, n, nil
	}
	if changed == 0 {
		return nil, int(present), nil
	}
	t.records = slices.Grow(t.records, int(changed))[:changed]
	t.indexes = slices.Grow(t.indexes[:0], int(changed))[:changed]
	var cursor ebpf.MapBatchCursor
	n, err := t.objs.Changed.BatchLookup(&cursor, t.indexes, t.records, nil)
	if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return nil, 0, fmt.Errorf("read the changed processes: %w", err)
	}
	if n != int(changed) {
		return nil, 0, fmt.Errorf("read the changed processes: %d of %d", n, changed)
	}
	return t.records, int(present), nil
}

// counts is a process's counters as last read: sockets created by family,
// then DNS lookups.
type counts [families + 1]uint64

func (v *creatorsProcess) counts() counts {
	var c counts
	copy(c[:families], v.Created[:])
	c[families] = v.Dns
	return c
}

func (t *Tracer) readMemory(s *Sample) error {
	exited := make(map[creatorsProcessKey]bool, len(t.gone))
	for _, k := range t.gone {
		exited[k] = true
	}
	seen := make(map[creatorsMemoryKey]uint64, len(t.prevMem))
	var gone []creatorsMemoryKey
	_, err := eachEntry(t.objs.Memory, t.memKeys[:], t.memVals[:], func(k *creatorsMemoryKey, v *creatorsMemoryHits) {
		if d := v.Hits - t.prevMem[*k]; d > 0 {
			s.Memory = append(s.Memory, MemoryHit{
				PID: k.Process.Tgid, Start: k.Process.Start, Name: comm(v.Comm), UID: v.Uid,
				Protocol: comm(k.Protocol), Hits: d,
			})
		}
		if exited[k.Process] {
			gone = append(gone, *k)
			return
		}
		seen[*k] = v.Hits
	})
	if err != nil {
		return fmt.Errorf("read the eBPF memory-limit map: %w", err)
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
	statProcessesFailed
	statMemoryFailed
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

// batch is how many entries one system call reads, into buffers kept
// between reads: a whole map at once would take megabytes.
const batch = 512

// eachEntry calls fn with every entry of the hash map m, read batch by batch
// into keys and values, and returns how many there were.
func eachEntry[K, V any](m *ebpf.Map, keys []K, vals []V, fn func(*K, *V)) (int, error) {
	var cursor ebpf.MapBatchCursor
	total := 0
	for {
		n, err := m.BatchLookup(&cursor, keys, vals, nil)
		for i := range n {
			fn(&keys[i], &vals[i])
		}
		total += n
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
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
