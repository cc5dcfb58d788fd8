# sockwatch: build, test, bench, run. See README.md.

GO      ?= go
PREFIX  ?= /usr
DESTDIR ?=
BIN     := bin
VERSION ?= 0.1.0
# Fuzz targets, each run briefly by `make test` (package:target).
FUZZ    := .:FuzzSockstat .:FuzzLimits .:FuzzNetstat .:FuzzSnmp6 .:FuzzBeancounters .:FuzzProtocols .:FuzzUnixPaths .:FuzzNetNSLink .:FuzzMemoryStat .:FuzzDNSInodes .:FuzzPasswd .:FuzzSocketInode .:FuzzDiagReply ./bpf:FuzzTaskSockets ./nagios:FuzzRange ./nagios:FuzzThreshold ./nagios:FuzzParseArgs ./nagios:FuzzPerfdata ./nagios:FuzzStateFile
FUZZTIME ?= 5s

.PHONY: all build test fuzz bench lint run deps clean drill e2e

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -ldflags "-X github.com/sockwatch/sockwatch/nagios.version=$(VERSION)" -o $(BIN)/ ./cmd/...

deps:
	sh scripts/deps.sh

.PHONY: generate
# eBPF objects (bpf/): rebuilt from the C sources with clang (Debian clang, libbpf-dev).
generate:
	$(GO) generate ./bpf/

test: deps lint
	$(GO) test -count=1 ./...
	@$(MAKE) --no-print-directory fuzz

fuzz:
	@set -e; for f in $(FUZZ); do \
		pkg=$${f%%:*}; target=$${f##*:}; \
		echo "fuzz $$pkg $$target ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1s $$pkg; \
	done

# Go benchmarks, then the owner scan against ss and lsof on a 110,000-socket
# load (root; about two minutes).
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...
	sh bench/owners.sh

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

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
NAGIOS_CONFS := icinga2 nagios4 nrpe
NFPM_VERSION := v2.45.2
NFPM         ?= $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)
DIST         := $(BIN)/package

install: build
	install -d $(DESTDIR)$(PREFIX)/lib/nagios/plugins $(DESTDIR)$(PREFIX)/bin $(SHARE)/dashboards
	install -m 0755 $(BIN)/check_sockwatch $(DESTDIR)$(PREFIX)/lib/nagios/plugins/
	install -m 0755 $(BIN)/telegraf-sockwatch $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 plugins/inputs/sockwatch/sample.conf $(SHARE)/sockwatch.conf
	install -m 0644 packaging/telegraf-execd.conf $(SHARE)/
	install -m 0644 plugins/inputs/sockwatch/dashboards/*.json plugins/inputs/sockwatch/dashboards/*.influxql $(SHARE)/dashboards/
	@set -e; for d in $(NAGIOS_CONFS); do \
		echo "install nagios/$$d -> $(SHARE)/$$d"; \
		install -d $(SHARE)/$$d; \
		find nagios/$$d -maxdepth 1 -type f ! -name '*.go' -exec install -m 0644 {} $(SHARE)/$$d/ \; ; \
	done

package:
	rm -rf $(DIST)
	CGO_ENABLED=0 $(MAKE) --no-print-directory install BIN=$(DIST)/bin DESTDIR=$(CURDIR)/$(DIST)/stage PREFIX=/usr
	@set -e; for p in check telegraf; do \
		STAGE=$(CURDIR)/$(DIST)/stage VERSION=$(VERSION) ARCH=$$($(GO) env GOARCH) \
			$(NFPM) package --config packaging/nfpm-$$p.yaml --packager deb --target $(DIST)/; \
	done
