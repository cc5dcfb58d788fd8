package dashboards

import (
	"testing"

	"github.com/influxdata/flux/ast"
	"github.com/influxdata/flux/parser"
	"github.com/stretchr/testify/require"
)

// fluxSyntaxErrors parses a Flux script with Flux's own parser and returns
// its syntax errors, if any.
func fluxSyntaxErrors(script string) error {
	pkg := parser.ParseSource(script)
	if ast.Check(pkg) > 0 {
		return ast.GetError(pkg)
	}
	return nil
}

// Every query of the InfluxDB 2 template, the variables' and the charts',
// is valid Flux as Flux's parser reads it.
func TestInfluxDB2FluxSyntax(t *testing.T) {
	n := 0
	for _, r := range readTemplate(t) {
		if r.Spec.Query != "" {
			require.NoErrorf(t, fluxSyntaxErrors(r.Spec.Query), "%s %s:\n%s", r.Kind, r.Metadata.Name, r.Spec.Query)
			n++
		}
		for _, c := range r.Spec.Charts {
			for _, q := range c.Queries {
				require.NoErrorf(t, fluxSyntaxErrors(q.Query), "chart %q:\n%s", c.Name, q.Query)
				n++
			}
		}
	}
	require.Greater(t, n, 2)
	// The check sees what a person editing the template might break.
	require.Error(t, fluxSyntaxErrors(`from(bucket: v.bucket) |> range(start: v.timeRangeStart`))
	require.Error(t, fluxSyntaxErrors(`from(bucket: v.bucket) |> filter(fn: (r) => r.host == "a)`))
}
