package main

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/influxdata/toml"
	"github.com/influxdata/toml/ast"

	"github.com/sockwatch/sockwatch/plugins/inputs/sockwatch"
)

// unknownOptions rejects options of [[inputs.sockwatch]] that the plugin
// does not have. Telegraf itself refuses them, but the shim decodes what it
// knows and drops the rest: "owner = true" for "owners = true" would do
// nothing, silently.
func unknownOptions(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	root, err := toml.Parse(data)
	if err != nil {
		return err // the shim's own loading names the line
	}
	inputs, _ := root.Fields["inputs"].(*ast.Table)
	if inputs == nil {
		return nil
	}
	tables, _ := inputs.Fields["sockwatch"].([]*ast.Table)
	known := pluginOptions()
	for _, t := range tables {
		var bad []string
		for key := range t.Fields {
			if !slices.Contains(known, key) {
				bad = append(bad, key)
			}
		}
		if len(bad) > 0 {
			slices.Sort(bad)
			return fmt.Errorf("line %d: unknown option %s of [[inputs.sockwatch]] (it has: %s)",
				t.Line, strings.Join(bad, ", "), strings.Join(known, ", "))
		}
	}
	return nil
}

// pluginOptions are the toml names of the plugin's options.
func pluginOptions() []string {
	var names []string
	typ := reflect.TypeFor[sockwatch.Sockwatch]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("toml"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}
