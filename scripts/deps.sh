#!/bin/sh
# Installs the Debian packages the tests use as referees and real peers, when
# any is missing. Run by `make test` and `.ci/run`; a no-op once installed.
set -eu
PKGS="iproute2 lsof util-linux time icinga2 nagios4 libmonitoring-plugin-perl influxdb"
# eBPF (bpf/): clang, llvm-strip and libbpf headers rebuild the objects, bpftool lists what is attached.
PKGS="$PKGS clang llvm libbpf-dev bpftool"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing Debian packages:$missing (run as root, or install them)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
# The packages' own services (influxd, icinga2, nagios4) are not wanted:
# the tests start what they need on ports of their own. A policy-rc.d that
# refuses every start keeps them down, unless the machine has its own policy.
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	policy=/usr/sbin/policy-rc.d
	trap 'rm -f "$policy"' EXIT
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod +x "$policy"
fi
apt-get install -y --no-install-recommends $missing
