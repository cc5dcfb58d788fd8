#!/bin/sh
# Times the socket-owner scan against ss and lsof on a known load (issue 5).
#
#   sh bench/owners.sh [RUNS]      (root; default 5 runs of each)
#
# Starts bench/loadgen in a private network namespace (110 processes holding
# 110,000 sockets: 88,000 UNIX socketpair ends, 20,900 UDP sockets of which
# 1,100 are connected to 127.0.0.53:53, 110 listeners with 9 accepted
# connections each), then times in that namespace, RUNS times each:
#   ownerscan   sockwatch.ScanOwners, counting the namespace's unix table
#   ss -xuap    the same sockets, with their processes
#   lsof -n -P -U -i udp
#   check_sockwatch --top 5
# and prints the median wall time of each, its ratio to ss, and peak RSS.
# The load is torn down on exit and in any case after 10 minutes.
set -eu
runs=${1:-5}
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

: >"$tmp/loadgen.out"
unshare -n sh -c 'ip link set lo up && exec "$0" -timeout 10m' "$tmp/loadgen" >"$tmp/loadgen.out" &
lg=$!
i=0
until grep -q '^ready' "$tmp/loadgen.out"; do
	i=$((i + 1))
	if [ $i -gt 600 ] || ! kill -0 "$lg" 2>/dev/null; then
		echo "owners.sh: the load did not start" >&2
		exit 1
	fi
	sleep 0.2
done
echo "load: $(cat "$tmp/loadgen.out") (processes, sockets); $(nproc) CPUs, Linux $(uname -r)"

# bench NAME CMD...: runs CMD $runs times in the load's namespace and prints
# its median wall time and largest peak RSS; sets $median.
bench() {
	name=$1
	shift
	: >"$tmp/times"
	for _ in $(seq "$runs"); do
		/usr/bin/time -f '%e %M' -o "$tmp/time" nsenter -t "$lg" -n "$@" >"$tmp/out" 2>&1 || {
			code=$?
			# check_sockwatch exits 1 or 2 for WARNING or CRITICAL.
			if [ "$name" != check_sockwatch ] || [ $code -gt 2 ]; then
				echo "owners.sh: $name failed ($code):" >&2
				cat "$tmp/out" >&2
				exit 1
			fi
		}
		tail -n 1 "$tmp/time" >>"$tmp/times"
	done
	median=$(sort -n "$tmp/times" | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }')
	rss=$(sort -n -k 2 "$tmp/times" | tail -n 1 | awk '{ print $2 }')
	printf '%-16s median %6.2f s over %d runs, peak RSS %6d KiB\n' "$name" "$median" "$runs" "$rss"
}

bench ss ss -xuap
ss=$median
bench ownerscan "$tmp/ownerscan" -n 1 -top 5 -unix-net-dir /proc/self/net
grep -E '^sockets|loadgen' "$tmp/out" | sed 's/^ */    /'
own=$median
bench lsof lsof -n -P -U -i udp
lsof=$median
bench check_sockwatch "$tmp/check_sockwatch" --top 5
chk=$median
awk -v o="$own" -v s="$ss" -v l="$lsof" 'BEGIN {
	printf "ownerscan / ss -xuap = %.3f (goal <= 0.10); ownerscan / lsof = %.3f\n", o / s, o / l }'
awk -v c="$chk" -v s="$ss" 'BEGIN { printf "check_sockwatch --top 5 / ss -xuap = %.3f\n", c / s }'
