# sockwatch: build, test, bench, run. See README.md.

GO      ?= go
PREFIX  ?= /usr
DESTDIR ?=
BIN     := bin
VERSION ?= 0.1.0
# Extra go build flags and linker flags (`make package` sets them).
GOBUILDFLAGS ?=
LDFLAGS ?=
# Fuzz targets, each run briefly by `make test` (package:target). FUZZTIME is a
# count: a duration races Go 1.26's fuzz coordinator into a spurious
# "context deadline exceeded" at its end (golang/go#75804).
FUZZ    := .:FuzzSockstat .:FuzzLimits .:FuzzNetstat .:FuzzSnmp6 .:FuzzBeancounters .:FuzzProtocols .:FuzzUnixPaths ./internal/procfile:FuzzNetNSLink .:FuzzMemoryStat .:FuzzDNSInodes .:FuzzPasswd ./internal/procfile:FuzzSocketInode .:FuzzDiagReply ./bpf:FuzzTaskSockets ./nagios/plugin:FuzzRange ./nagios/plugin:FuzzThreshold ./nagios/plugin:FuzzPerfdata ./nagios:FuzzParseArgs ./nagios:FuzzStateFile
FUZZTIME ?= 20000x

.PHONY: all build test fuzz bench lint readme-lint run deps clean drill e2e cores

all: build

# Without cgo: a binary given capabilities changes them on every thread,
# which Go can do only without cgo (internal/privilege).
build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build $(GOBUILDFLAGS) -ldflags "$(LDFLAGS) -X github.com/sockwatch/sockwatch/nagios.version=$(VERSION)" -o $(BIN)/ ./cmd/...

deps:
	sh scripts/deps.sh

.PHONY: generate
# eBPF objects (bpf/): rebuilt from the C sources with clang (Debian clang, libbpf-dev).
generate:
	$(GO) generate ./bpf/

test: deps lint readme-lint
	$(GO) test -count=1 ./...
	@$(MAKE) --no-print-directory fuzz

fuzz:
	@set -e; for f in $(FUZZ); do \
		pkg=$${f%%:*}; target=$${f##*:}; \
		echo "fuzz $$pkg $$target ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1s $$pkg; \
	done

# Go benchmarks, then the owner scan against ss and lsof on a 110,000-socket
# load (root; about two minutes), then the check against ss -s on a host with
# 1,000 processes (root).
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...
	sh bench/owners.sh
	$(GO) run ./bench/checkcost

# Telegraf's own linter of plugin READMEs, of the release we build against.
README_LINTER := $(GO) run github.com/influxdata/telegraf/tools/readme_linter@v1.39.3
readme-lint:
	$(README_LINTER) plugins/inputs/sockwatch/README.md

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags drill,e2e,cores ./...

run: build
	./$(BIN)/check_sockwatch -v --top 5; echo "check_sockwatch exit code: $$?"
	printf '[[inputs.sockwatch]]\n  owners = true\n' > $(BIN)/run.conf
	./$(BIN)/telegraf-sockwatch -config $(BIN)/run.conf -once

# Incident drills (issue 7): live, root, private network namespaces.
drill: deps
	$(GO) test -count=1 -tags drill -v ./drills/

# Telegraf -> InfluxDB end to end on real servers (issue 8).
e2e: deps
	$(GO) test -count=1 -tags e2e -v ./e2e/

# Icinga 2, Nagios 4 and NRPE from Debian's packages schedule the check and
# page (issue 13): root, private namespaces, about a minute. Its live drills
# lower tcp_max_orphans for seconds: where other drills may run at the same
# time, run it under `flock /tmp/sockwatch-global.lock`.
cores: deps
	$(GO) test -count=1 -tags cores -parallel 64 -v ./cores/

clean:
	rm -rf $(BIN)

# Install and Debian packages (issue 8). `make install` puts the check where
# Nagios and Icinga look for plugins, the Telegraf plugin in bin, and the
# example configurations and dashboards in share/sockwatch; DESTDIR stages
# it (packages do). `make package` builds static binaries, stages an install
# under PREFIX=/usr and builds one .deb per audience with nfpm, run from the
# module proxy (not one of our dependencies).
.PHONY: install package

SHARE        = $(DESTDIR)$(PREFIX)/share/sockwatch
MAN1         = $(DESTDIR)$(PREFIX)/share/man/man1
NAGIOS_CONFS := icinga2 nagios4 nrpe
NFPM_VERSION := v2.45.2
NFPM         ?= $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)
DIST         := $(BIN)/package

install: build
	install -d $(DESTDIR)$(PREFIX)/lib/nagios/plugins $(DESTDIR)$(PREFIX)/bin $(SHARE)/dashboards $(MAN1)
	install -m 0755 $(BIN)/check_sockwatch $(DESTDIR)$(PREFIX)/lib/nagios/plugins/
	install -m 0755 $(BIN)/telegraf-sockwatch $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 packaging/man/*.1 $(MAN1)/
	install -m 0644 plugins/inputs/sockwatch/sample.conf $(SHARE)/sockwatch.conf
	install -m 0644 packaging/telegraf-execd.conf $(SHARE)/
	install -m 0644 plugins/inputs/sockwatch/dashboards/*.json plugins/inputs/sockwatch/dashboards/*.influxql $(SHARE)/dashboards/
	@set -e; for d in $(NAGIOS_CONFS); do \
		echo "install nagios/$$d -> $(SHARE)/$$d"; \
		install -d $(SHARE)/$$d; \
		find nagios/$$d -maxdepth 1 -type f ! -name '*.go' -exec install -m 0644 {} $(SHARE)/$$d/ \; ; \
	done

# The packages' binaries are position independent (Debian's hardening
# default) and stripped; their man pages and changelog are compressed, and
# each package gets a copyright file listing the Go modules its binary
# contains (read from the binary). MAINTAINER is the packages' contact
# (name <email>): by default the author of the last commit.
MAINTAINER ?= $(shell git log -1 --format='%an <%ae>' 2>/dev/null)
PACKAGES     := check-sockwatch:check_sockwatch telegraf-sockwatch:telegraf-sockwatch

package:
	@case "$(MAINTAINER)" in *?' <'?*@?*'>') ;; *) echo "MAINTAINER='$(MAINTAINER)': want 'Name <email>'"; exit 1;; esac
	@head -1 packaging/changelog | grep -qF '($(VERSION))' || { echo "packaging/changelog has no entry for $(VERSION) on top"; exit 1; }
	rm -rf $(DIST)
	CGO_ENABLED=0 $(MAKE) --no-print-directory install BIN=$(DIST)/bin DESTDIR=$(CURDIR)/$(DIST)/stage PREFIX=/usr \
		GOBUILDFLAGS="-buildmode=pie -trimpath" LDFLAGS="-s -w"
	gzip -9n $(DIST)/stage/usr/share/man/man1/*.1
	@set -e; for pb in $(PACKAGES); do \
		p=$${pb%%:*}; b=$${pb##*:}; doc=$(DIST)/stage/usr/share/doc/$$p; \
		install -d $$doc; \
		sed -e "1s/^sockwatch /$$p /" -e "s|@MAINTAINER@|$(MAINTAINER)|" packaging/changelog | gzip -9n >$$doc/changelog.gz; \
		{ sed -e "s|@PACKAGE@|$$p|" -e "s|@MAINTAINER@|$(MAINTAINER)|" packaging/copyright.in; \
		  $(GO) version -m $(DIST)/bin/$$b | awk '$$1 == "dep" { print "  " $$2 " " $$3 }'; } >$$doc/copyright; \
	done
	@set -e; for p in check telegraf; do \
		STAGE=$(CURDIR)/$(DIST)/stage VERSION=$(VERSION) ARCH=$$($(GO) env GOARCH) MAINTAINER="$(MAINTAINER)" \
			$(NFPM) package --config packaging/nfpm-$$p.yaml --packager deb --target $(DIST)/; \
	done
