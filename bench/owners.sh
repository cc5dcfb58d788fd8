#!/bin/sh
# Times the socket-owner scan against ss and lsof on a known load (issues 5
# and 15), and prints the side-by-side table of README's cost section.
#
#   sh bench/owners.sh [RUNS]      (root; default 5 runs of each)
#
# Starts bench/loadgen in a private network namespace (110 processes holding
# 110,000 sockets: 88,000 UNIX socketpair ends, 20,900 UDP sockets of which
# 1,100 are connected to 127.0.0.53:53, 110 listeners with 9 accepted
# connections each), then times in that namespace, RUNS times each:
#   ss -xuap
#   ownerscan        sockwatch.ScanOwners through the BPF task_file iterator
#                    (loaded once, as in the Telegraf plugin: a gather's scan)
#   ownerscan -proc  the same through /proc/PID/fd
#   lsof -n -P -U -i udp
#   check_sockwatch --top 5, the whole process (loading the iterator and
#                    the kernel's BTF included)
# Then the same at 550,000 sockets (110 processes of 5,000: more socketpairs,
# the same UDP sockets), SCALE_RUNS times each (default 3), without lsof, and
# ss once: its -p grows much faster than the sockets, to tens of minutes.
# It prints the median wall time of each, per socket, its ratio to ss, and
# peak RSS. Each load is torn down on exit and in any case after an hour.
set -eu
runs=${1:-5}
scale_runs=${SCALE_RUNS:-3}
cd "$(dirname "$0")/.."
for tool in unshare nsenter ip ss lsof /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "owners.sh: $tool is missing (scripts/deps.sh)" >&2; exit 1; }
done

tmp=$(mktemp -d)
lg=""
cleanup() {
	if [ -n "$lg" ]; then
		kill "$lg" 2>/dev/null || true
		wait "$lg" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

go build -o "$tmp/" ./bench/loadgen ./bench/ownerscan ./cmd/check_sockwatch

# start_load ARG...: starts loadgen with ARG in a private network namespace
# and waits until it holds its sockets; sets $lg and $sockets.
start_load() {
	: >"$tmp/loadgen.out"
	unshare -n sh -c 'ip link set lo up && exec "$0" "$@"' "$tmp/loadgen" -timeout 60m "$@" >"$tmp/loadgen.out" &
	lg=$!
	i=0
	until grep -q '^ready' "$tmp/loadgen.out"; do
		i=$((i + 1))
		if [ $i -gt 1500 ] || ! kill -0 "$lg" 2>/dev/null; then
			echo "owners.sh: the load did not start" >&2
			exit 1
		fi
		sleep 0.2
	done
	sockets=$(awk '{ print $3 }' "$tmp/loadgen.out")
	echo "load: $(cat "$tmp/loadgen.out") (processes, sockets); $(nproc) CPUs, Linux $(uname -r)"
}

stop_load() {
	kill "$lg" 2>/dev/null || true
	wait "$lg" 2>/dev/null || true
	lg=""
}

# bench NAME RUNS CMD...: runs CMD RUNS times in the load's namespace, prints
# its median wall time and largest peak RSS, and adds a row to the table;
# sets $median.
bench() {
	name=$1
	n=$2
	shift 2
	: >"$tmp/times"
	for _ in $(seq "$n"); do
		/usr/bin/time -f '%e %M' -o "$tmp/time" nsenter -t "$lg" -n "$@" >"$tmp/out" 2>&1 || {
			code=$?
			# check_sockwatch exits 1 or 2 for WARNING or CRITICAL.
			if [ "$name" != "check_sockwatch --top 5" ] || [ $code -gt 2 ]; then
				echo "owners.sh: $name failed ($code):" >&2
				cat "$tmp/out" >&2
				exit 1
			fi
		}
		tail -n 1 "$tmp/time" >>"$tmp/times"
	done
	median=$(sort -n "$tmp/times" | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }')
	rss=$(sort -n -k 2 "$tmp/times" | tail -n 1 | awk '{ print $2 }')
	printf '%-24s median %6.2f s over %d runs, peak RSS %7d KiB\n' "$name" "$median" "$n" "$rss"
	echo "$sockets|$name|$median|$rss" >>"$tmp/table"
}

# scan_median: the median time of one scan that ownerscan printed, which
# excludes its start and the iterator's load.
scan_median() {
	awk '/^median/ { print $2 }' "$tmp/out"
}

: >"$tmp/table"
start_load
bench "ss -xuap" "$runs" ss -xuap
ss=$median
bench "ownerscan" "$runs" "$tmp/ownerscan" -n 5 -top 5 -unix-net-dir /proc/self/net
grep -E '^via|^sockets|loadgen|held by' "$tmp/out" | head -8 | sed 's/^ */    /'
scan=$(scan_median)
echo "    one ScanOwners through the iterator (a gather's scan): $scan s"
echo "$sockets|ScanOwners (iterator loaded)|$scan|" >>"$tmp/table"
bench "ownerscan -proc" "$runs" "$tmp/ownerscan" -n 5 -top 5 -unix-net-dir /proc/self/net -proc
grep -E '^via' "$tmp/out" | sed 's/^ */    /'
echo "$sockets|ScanOwners (/proc/PID/fd)|$(scan_median)|" >>"$tmp/table"
bench "lsof -n -P -U -i udp" "$runs" lsof -n -P -U -i udp
bench "check_sockwatch --top 5" "$runs" "$tmp/check_sockwatch" -v --top 5
grep -E '^owners' "$tmp/out" | sed 's/^ */    /'
chk=$median
stop_load

start_load -pairs 2400
bench "ss -xuap" 1 ss -xuap
bench "ownerscan" "$scale_runs" "$tmp/ownerscan" -n 3 -top 5 -unix-net-dir /proc/self/net
echo "$sockets|ScanOwners (iterator loaded)|$(scan_median)|" >>"$tmp/table"
bench "check_sockwatch --top 5" "$scale_runs" "$tmp/check_sockwatch" -v --top 5
grep -E '^owners: read' "$tmp/out" | sed 's/^ */    /'
stop_load

# The table: per socket, and as a share of ss at the same load.
echo
echo "| sockets | command | median wall time | per socket | peak RSS | / ss -xuap |"
echo "| ---: | --- | ---: | ---: | ---: | ---: |"
awk -F'|' '
	$2 == "ss -xuap" { ss[$1] = $3 }
	{ row[NR] = $0 }
	END {
		for (i = 1; i <= NR; i++) {
			split(row[i], f, "|")
			# ownerscan runs several scans: its scan times are the rows.
			if (f[2] ~ /^ownerscan/)
				continue
			rss = f[4] == "" ? "-" : sprintf("%.1f MiB", f[4] / 1024)
			printf "| %d | `%s` | %.3f s | %.2f µs | %s | %.3f |\n", f[1], f[2], f[3], f[3] * 1e6 / f[1], rss, f[3] / ss[f[1]]
		}
	}' "$tmp/table"
awk -F'|' '
	$2 == "check_sockwatch --top 5" { c[++n] = $3 / $1; rss[n] = $4 }
	$2 == "ScanOwners (iterator loaded)" { g[++m] = $3 / $1 }
	END {
		printf "\ncheck_sockwatch --top 5 per socket at 550,000 / at 110,000: %.2f (goal <= 1.20); peak RSS %.1f MiB (goal <= 64)\n",
			c[2] / c[1], rss[1] / 1024
		printf "ScanOwners per socket at 550,000 / at 110,000: %.2f\n", g[2] / g[1]
	}' "$tmp/table"
awk -v c="$chk" -v s="$ss" 'BEGIN { printf "check_sockwatch --top 5 / ss -xuap at 110,000 = %.3f (goal <= 0.03)\n", c / s }'
