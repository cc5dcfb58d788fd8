#!/bin/sh
# Installs the Debian packages the tests use as referees and real peers, when
# any is missing. Run by `make test` and `.ci/run`; a no-op once installed.
set -eu
PKGS="iproute2 lsof util-linux procps prometheus-node-exporter icinga2 nagios4 monitoring-plugins-basic libmonitoring-plugin-perl influxdb influxdb-client"
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
# The packages' own services are not wanted: the tests start what they need.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
apt-get install -y --no-install-recommends $missing
rm -f /usr/sbin/policy-rc.d
