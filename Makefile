# The README's two commands are `make run` (see it work) and `make test` (everything CI runs).
GO       ?= go
TOOLS    := -modfile=internal/tools/go.mod
PKGS     := ./...

.PHONY: all test unit norace e2e interop interop-deps run spotlight spotlight-ui generate lint fmt bench fuzz tidy

all: test

## test: everything CI runs: vet and golangci-lint, unit tests with the race detector, fuzz seeds, the checks
## that need a binary without it (norace), the ocb end-to-end test and the interop tests against pinned
## Sentry consumers.
test: vet lint unit norace e2e interop

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

## norace: the allocation checks (testing.AllocsPerRun; the race detector's instrumentation allocates,
## so they skip or mean nothing under -race) and the delivery workload at full size (smaller under -race).
norace:
	$(GO) test -count=1 -timeout 10m -run 'Alloc|TestDeliveryUnderFaults' $(PKGS)

## e2e: builds a collector with ocb and sends OTLP through it to the local Sentry receiver; builds another
## one in a temp dir exactly as docs/collector-build.md says, and runs examples/collector.yaml with it;
## runs the two tiers of docs/scale-out.md (tier 1 is a third, cached ocb build).
e2e:
	$(GO) test -count=1 -timeout 30m -tags e2e ./e2e/...

## interop: the exporter's envelopes against Spotlight and sentry-cli, pinned in interop/ (docs/interop.md).
interop: interop-deps
	$(GO) test -count=1 -timeout 10m -tags interop -run '^TestInterop$$' .

## interop-deps: installs the pinned Sentry consumers of interop/package-lock.json into .build/interop (npm ci).
interop-deps:
	./scripts/interop-deps.sh

## run: builds a collector with this exporter, runs it against the local Sentry receiver and shows what Sentry got.
run:
	./scripts/run.sh

## spotlight: make run against Spotlight (Sentry's local development UI) instead; leaves its UI open at
## http://localhost:8969/ until CTRL-C. Needs node and npm (docs/spotlight.md).
spotlight:
	SPOTLIGHT=1 ./scripts/run.sh

## spotlight-ui: the exporter's errors, traces and logs in Spotlight's web UI, checked in headless Chromium
## inside a loopback-only network namespace; installs chromium (apt-get, as root) and the npm packages.
spotlight-ui:
	./scripts/spotlight-ui-test.sh

# make test runs the Spotlight UI test too (CI=true: a missing prerequisite fails it).
test: spotlight-ui

## generate: reruns mdatagen on metadata.yaml.
generate:
	$(GO) generate ./

## lint: golangci-lint, installed as a Go tool in internal/tools.
lint:
	$(GO) tool -modfile=internal/tools/lint/go.mod golangci-lint run ./...

## fmt: formats every Go file.
fmt:
	gofmt -w $$(git ls-files '*.go')

## bench: transform, encoding and whole-exporter benchmarks (spans/s, CPU and allocs per span, wire bytes),
## then the exporter's figures beside otlphttp's from the same run.
bench:
	@mkdir -p .build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2x $(PKGS) > .build/bench.txt; status=$$?; \
	cat .build/bench.txt; \
	awk -f scripts/bench-ratio.awk .build/bench.txt; \
	exit $$status

## fuzz: runs each fuzz target for FUZZTIME (default 1m).
FUZZTIME ?= 1m
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./internal/stacktrace
	$(GO) test -run '^$$' -fuzz FuzzTransform -fuzztime $(FUZZTIME) .
