package main

import (
	"io"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/plugins/serializers/influx"
)

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
