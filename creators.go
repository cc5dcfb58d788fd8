package sockwatch

import (
	"cmp"
	"maps"
	"time"

	"github.com/sockwatch/sockwatch/bpf"
)

// CreatorOptions tunes TraceCreators. The zero value is ready to use.
type CreatorOptions struct {
	// Top is how many creators and memory-limit entries each sample keeps,
	// the busiest first; 0 or less keeps them all.
	Top int
	// PasswdFile resolves user IDs to names, as for OwnerOptions.
	PasswdFile string
	// Tracer tunes the eBPF programs (tests shrink their maps).
	Tracer bpf.Options
}

// Creator is the sockets created by the processes of one name and user
// during a sample, per second, and since tracing started.
type Creator struct {
	Name string // comm, any byte but NUL
	User string // the effective user's name, or the numeric uid
	// Created counts every socket they created since tracing started.
	Created int64
	// Per second over the sample's interval, by family.
	Unix, UDP, TCP, Other float64
	// DNS is lookups per second: connect() to port 53, or a datagram sent
	// to port 53 without one.
	DNS float64
	// Processes is how many processes of the name and user were counted in
	// the interval.
	Processes int
}

// PerSecond is the sockets created per second, every family.
func (c *Creator) PerSecond() float64 { return c.Unix + c.UDP + c.TCP + c.Other }

// MemoryLimit is the socket memory-limit hits (sock:sock_exceed_buf_limit)
// of the processes of one name and user, on one protocol.
type MemoryLimit struct {
	// Name is "" when the socket's owner is unknown: a socket that existed
	// before tracing started refused memory in its receive path.
	Name     string
	User     string
	Protocol string // the kernel's name: TCP, TCPv6, UDP, UDPv6, UNIX...
	// Hits since tracing started, and per second over the interval.
	Hits      int64
	PerSecond float64
}

// Creators is one sample of a CreatorTracer.
type Creators struct {
	Interval time.Duration
	// ByProcess is the busiest creators of the interval, at most Top, by
	// sockets created per second (then DNS lookups), then name and user.
	ByProcess []Creator
	// MemoryLimits is the memory-limit hits of the interval, at most Top,
	// by hits per second, then name, user and protocol.
	MemoryLimits []MemoryLimit
	// CreatedPerSecond is every process's sockets created per second.
	CreatedPerSecond float64
	// Dropped counts the processes, and memory-limit entries, the kernel
	// maps evicted since tracing started because they were full: their
	// counts of that interval are missing.
	DroppedProcesses, DroppedMemory uint64
	// Errors are what went wrong without spoiling the sample: a passwd
	// that could not be read, the users then named by uid.
	Errors []error
}

// CreatorTracer counts socket creation, DNS lookups and memory-limit hits
// in the kernel, from TraceCreators to Close. It is not safe for concurrent
// use.
type CreatorTracer struct {
	tracer *bpf.Tracer
	opts   CreatorOptions
	// Totals since tracing started, by name and user (and protocol).
	created map[creatorKey]int64
	hits    map[memoryKey]int64
}

type creatorKey struct{ name, user string }

type memoryKey struct{ name, user, protocol string }

// TraceCreators attaches the eBPF programs. Its error is a *bpf.Unavailable
// naming what is missing when the host cannot trace.
func TraceCreators(opts CreatorOptions) (*CreatorTracer, error) {
	t, err := bpf.Open(opts.Tracer)
	if err != nil {
		return nil, err
	}
	return &CreatorTracer{tracer: t, opts: opts, created: map[creatorKey]int64{}, hits: map[memoryKey]int64{}}, nil
}

// Close detaches the programs.
func (c *CreatorTracer) Close() error { return c.tracer.Close() }

// Sample returns what happened since the previous Sample, or since
// TraceCreators for the first.
func (c *CreatorTracer) Sample() (*Creators, error) {
	s, err := c.tracer.Read()
	if err != nil {
		return nil, err
	}
	out := &Creators{Interval: s.Interval, DroppedProcesses: s.DroppedProcesses, DroppedMemory: s.DroppedMemory}
	// The counts are already taken from the kernel's maps: an unreadable
	// passwd names the users by uid rather than losing the interval.
	users, err := readUsers(c.opts.PasswdFile)
	if err != nil {
		out.Errors = append(out.Errors, err)
	}
	secs := s.Interval.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	byKey := c.byProcess(out, s, users, secs)
	byMem := c.memoryLimits(out, s, users, secs)

	// Names are the kernel's to choose: a storm of processes each naming
	// itself differently must not grow the totals without bound. Past
	// maxTotals, the names quiet in this sample are forgotten; one that
	// comes back counts from zero again, as a counter does after a restart.
	if len(c.created) > maxTotals {
		maps.DeleteFunc(c.created, func(k creatorKey, _ int64) bool { return byKey[k] == nil })
	}
	if len(c.hits) > maxTotals {
		maps.DeleteFunc(c.hits, func(k memoryKey, _ int64) bool { return byMem[k] == nil })
	}
	return out, nil
}

// byProcess sets out's creators, and CreatedPerSecond, from the sample s
// over secs seconds, and adds them to the totals; it returns every
// creator of the sample by name and user.
func (c *CreatorTracer) byProcess(out *Creators, s *bpf.Sample, users userNames, secs float64) map[creatorKey]*Creator {
	byKey := map[creatorKey]*Creator{}
	for i := range s.Processes {
		p := &s.Processes[i]
		k := creatorKey{p.Name, users.name(p.UID)}
		cr := byKey[k]
		if cr == nil {
			cr = &Creator{Name: k.name, User: k.user}
			byKey[k] = cr
		}
		cr.Processes++
		cr.Unix += float64(p.Created[bpf.Unix]) / secs
		cr.UDP += float64(p.Created[bpf.UDP]) / secs
		cr.TCP += float64(p.Created[bpf.TCP]) / secs
		cr.Other += float64(p.Created[bpf.Other]) / secs
		cr.DNS += float64(p.DNS) / secs
		c.created[k] += int64(p.Sockets())
		out.CreatedPerSecond += float64(p.Sockets()) / secs
	}
	for k, cr := range byKey {
		cr.Created = c.created[k]
		out.ByProcess = append(out.ByProcess, *cr)
	}
	out.ByProcess = topN(out.ByProcess, c.opts.Top, func(a, b Creator) int {
		return cmp.Or(cmp.Compare(b.PerSecond(), a.PerSecond()), cmp.Compare(b.DNS, a.DNS),
			cmp.Compare(a.Name, b.Name), cmp.Compare(a.User, b.User))
	})
	return byKey
}

// memoryLimits sets out's memory-limit hits from the sample s over secs
// seconds, and adds them to the totals; it returns every entry of the
// sample by name, user and protocol.
func (c *CreatorTracer) memoryLimits(out *Creators, s *bpf.Sample, users userNames, secs float64) map[memoryKey]*MemoryLimit {
	byMem := map[memoryKey]*MemoryLimit{}
	for _, h := range s.Memory {
		k := memoryKey{h.Name, users.name(h.UID), h.Protocol}
		m := byMem[k]
		if m == nil {
			m = &MemoryLimit{Name: k.name, User: k.user, Protocol: k.protocol}
			byMem[k] = m
		}
		m.PerSecond += float64(h.Hits) / secs
		c.hits[k] += int64(h.Hits)
	}
	for k, m := range byMem {
		m.Hits = c.hits[k]
		out.MemoryLimits = append(out.MemoryLimits, *m)
	}
	out.MemoryLimits = topN(out.MemoryLimits, c.opts.Top, func(a, b MemoryLimit) int {
		return cmp.Or(cmp.Compare(b.PerSecond, a.PerSecond), cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.User, b.User), cmp.Compare(a.Protocol, b.Protocol))
	})
	return byMem
}

// maxTotals bounds the names whose totals a CreatorTracer keeps.
const maxTotals = 4096
