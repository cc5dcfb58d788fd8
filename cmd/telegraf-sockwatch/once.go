package main

import (
	"fmt"
	"io"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/agent"
	"github.com/influxdata/telegraf/plugins/serializers/influx"
)

// onceAccumulator is Telegraf's own accumulator, as the shim uses it, that
// also remembers whether the gather reported an error, for -once's exit code.
type onceAccumulator struct {
	telegraf.Accumulator
	stderr io.Writer
	failed bool
}

func (a *onceAccumulator) AddError(err error) {
	if err == nil {
		return
	}
	a.failed = true
	fmt.Fprintf(a.stderr, "telegraf-sockwatch: %v\n", err)
}

// gatherOnce runs one Gather of in and returns its metrics.
func gatherOnce(maker agent.MetricMaker, in telegraf.Input, stderr io.Writer) (metrics []telegraf.Metric, failed bool) {
	ch := make(chan telegraf.Metric)
	done := make(chan struct{})
	go func() {
		for m := range ch {
			metrics = append(metrics, m)
		}
		close(done)
	}()
	acc := &onceAccumulator{Accumulator: agent.NewAccumulator(maker, ch), stderr: stderr}
	if err := in.Gather(acc); err != nil {
		acc.AddError(err)
	}
	close(ch)
	<-done
	return metrics, acc.failed
}

// writeMetrics writes metrics as line protocol, fields sorted by name so that
// two runs read alike.
func writeMetrics(w io.Writer, metrics []telegraf.Metric) error {
	s := &influx.Serializer{SortFields: true}
	if err := s.Init(); err != nil {
		return err
	}
	out, err := s.SerializeBatch(metrics)
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}
