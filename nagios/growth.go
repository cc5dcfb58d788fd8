package nagios

import (
	"fmt"
	"time"

	"github.com/sockwatch/sockwatch"
)

// growth is the last growth of an event counter, as the state file keeps
// it: By since First, the last at Last. Growth seen again before the hold
// time has passed since Last adds to it; after, it starts anew.
type growth struct {
	By    int64     `json:"by"`
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Reset says the counter was found below its baseline on the way (a
	// reboot, a container restarted): it was counted again from zero.
	Reset bool `json:"reset,omitempty"`
}

// observe compares counter key with its baseline and records its growth.
// A counter below its baseline restarted: it is counted again from zero,
// its whole value being growth. The value becomes the next baseline.
func (c *checker) observe(key, what string, cur sockwatch.Num) {
	if !cur.Known {
		return
	}
	c.next.Counters[key] = cur.Value
	if c.prev == nil {
		return
	}
	base, ok := c.prev.Counters[key]
	if !ok {
		return
	}
	delta, reset := cur.Value-base, false
	if delta < 0 {
		delta, reset = cur.Value, true
		c.notes = append(c.notes, fmt.Sprintf("%s went down from %d to %d: it restarted (a reboot, a container restart), counted again from zero",
			what, base, cur.Value))
	}
	c.record(key, delta, reset)
}

// record adds delta to the growth of key.
func (c *checker) record(key string, delta int64, reset bool) {
	if delta <= 0 {
		return
	}
	g := c.next.Growth[key]
	if g == nil || c.now.Sub(g.Last) >= c.cfg.Hold {
		g = &growth{First: c.now}
		c.next.Growth[key] = g
	}
	g.By += delta
	g.Last = c.now
	g.Reset = g.Reset || reset
}

// held is the growth of key this service reports now: growth less than the
// hold time old, or recorded since this service last ran (by this run or by
// another service sharing the state file); nil when there is none.
func (c *checker) held(key string) *growth {
	g := c.next.Growth[key]
	switch {
	case g == nil:
		return nil
	case c.now.Sub(g.Last) < c.cfg.Hold, g.Last.Equal(c.now), !c.lastRun.IsZero() && g.Last.After(c.lastRun):
		return g
	}
	return nil
}

// grewText says by how much a counter grew and when it last did.
func (c *checker) grewText(g *growth) string {
	s := fmt.Sprintf("grew by %d", g.By)
	if g.Reset {
		s += " (counted from zero after a restart)"
	}
	if !g.First.Equal(g.Last) {
		s += " since " + stamp(g.First)
	}
	return s + fmt.Sprintf(", last %v ago at %s", c.now.Sub(g.Last).Round(time.Second), stamp(g.Last))
}

// heldText says how long the state is held.
func (c *checker) heldText(g *growth) string {
	if c.cfg.Hold <= 0 {
		return ""
	}
	return fmt.Sprintf("held until %v without growth (%s)", c.cfg.Hold, stamp(g.Last.Add(c.cfg.Hold)))
}

func stamp(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") }
