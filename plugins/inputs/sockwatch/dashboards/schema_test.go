package dashboards

// measurement is what inputs.sockwatch writes under one measurement name.
type measurement struct {
	fields, tags map[string]bool
}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// schema is the plugin's output as the design fixes it (names
// must not change) plus the fields the plugin's README documents beyond that
// minimum. Keep it in sync with both: a dashboard query naming anything else
// fails TestGrafanaQueriesUseSchema or TestInfluxDB2Template. The host tag is
// Telegraf's; netns and process_name are set on per-namespace series (option
// namespaces).
var schema = map[string]measurement{
	"sockwatch": {
		fields: set(
			"sockets_used", "tcp_inuse", "tcp_orphan", "tcp_tw", "tcp_alloc",
			"tcp_mem_pages", "tcp_mem_bytes", "udp_inuse", "udp_mem_pages", "udp_mem_bytes",
			"udplite_inuse", "raw_inuse", "frag_inuse", "frag_memory_bytes",
			"tcp6_inuse", "udp6_inuse", "udplite6_inuse", "raw6_inuse", "frag6_inuse", "frag6_memory_bytes",
			"unix_sockets", "numothersock",
			"tcp_mem_min_pages", "tcp_mem_pressure_pages", "tcp_mem_max_pages",
			"udp_mem_min_pages", "udp_mem_pressure_pages", "udp_mem_max_pages",
			"tcp_max_orphans", "tcp_max_tw_buckets", "files_allocated", "files_max",
			"tcp_mem_used_percent", "udp_mem_used_percent", "tcp_orphan_used_percent",
			"tcp_orphan_penalty_used_percent", "tcp_tw_used_percent", "files_used_percent",
			"tcp_mem_pressure",
			"tcp_abort_on_memory", "tcp_memory_pressures", "tcp_memory_pressures_chrono_ms", "tcp_tw_overflow",
			"udp_rcvbuf_errors", "udp_sndbuf_errors", "udp_mem_errors",
			"udp6_rcvbuf_errors", "udp6_sndbuf_errors", "udp6_mem_errors",
			"udp_dns_sockets",
			"sockets_created_per_second", "creator_processes_dropped",
		),
		tags: set("host", "netns", "process_name"),
	},
	"sockwatch_beancounter": {
		fields: set("held", "maxheld", "barrier", "limit", "failcnt"),
		tags:   set("host", "ctid", "resource"),
	},
	"sockwatch_owner": {
		fields: set("sockets", "unix", "tcp", "udp", "raw", "netlink", "other", "dns", "processes"),
		tags:   set("host", "process_name", "user"),
	},
	"sockwatch_unix_path": {
		fields: set("sockets"),
		tags:   set("host", "path"),
	},
	"sockwatch_cgroup": {
		fields: set("sock_bytes", "sock_own_bytes"),
		tags:   set("host", "cgroup"),
	},
	"sockwatch_unix_path_holder": {
		fields: set("sockets"),
		tags:   set("host", "path", "process_name", "user"),
	},
	"sockwatch_creator": {
		fields: set("created", "created_per_second", "unix_per_second", "udp_per_second", "tcp_per_second",
			"other_per_second", "dns_lookups_per_second"),
		tags: set("host", "process_name", "user"),
	},
	"sockwatch_memory_limit": {
		fields: set("hits", "hits_per_second"),
		tags:   set("host", "process_name", "user", "protocol"),
	},
}
