# twingraph — two commands matter: `make dev` runs the whole twin in one process,
# `make test` passes the tests. Each does its own set-up on a fresh machine.

GO        ?= go
BIN       ?= bin/twingraph
GOFLAGS   ?=
# npm projects whose node_modules the tests need (TimescaleDB engine, federation composition,
# graphql-ws client, headless chromium driver).
NPM_DIRS  := $(wildcard internal/testenv/pglite resolvers/testdata/compose resolvers/testdata/wsclient gateway/testdata/browser)

.PHONY: dev build test fuzz test-deps npm-deps generate check-generated web bench bench-e2e vet fmt

VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null)

build:
	$(GO) build $(GOFLAGS) -ldflags "-X main.version=$(VERSION) -X main.revision=$(REVISION)" -o $(BIN) ./cmd/twingraph

## dev: broker + sync worker + memory stores + simulator + GraphiQL on http://127.0.0.1:8080
## (flags through ARGS: make dev ARGS="--no-sim --log-format json", or TWIN_* env)
dev: build
	./$(BIN) dev $(ARGS)

## test: install the servers the tests start privately, then run every test and,
## for a bounded number of executions, the fuzz targets of everything hostile input reaches.
test: test-deps npm-deps
	$(GO) vet ./...
	$(GO) test -p 2 -count=1 -timeout 20m ./...
	$(MAKE) fuzz

# Budgets are counts of executions, about 15 s each here: a duration (-fuzztime 15s) can fail
# with "context deadline exceeded" and no crasher at its end, a race in Go's fuzz coordinator
# (go.dev/issue/75804, fixed in Go 1.27); a count has no deadline to race.
FUZZ_DECODE   ?= 150000x
FUZZ_FASTPATH ?= 300000x
FUZZ_HANDLER  ?= 40000x
FUZZ_HISTORY  ?= 40000x
## fuzz: telemetry decoding, GraphQL documents through the real handler (with its
## limits) and history arguments through REST, a bounded number of executions each.
fuzz:
	$(GO) clean -fuzzcache # start from the seeds: a corpus grown by earlier runs slows the baseline
	$(GO) test ./ingest -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZ_DECODE)
	$(GO) test ./ingest -run '^$$' -fuzz '^FuzzDecode_fastPath$$' -fuzztime $(FUZZ_FASTPATH)
	$(GO) test ./resolvers -run '^$$' -fuzz '^FuzzHandler_Document$$' -fuzztime $(FUZZ_HANDLER)
	$(GO) test ./gateway -run '^$$' -fuzz '^FuzzGetHistory$$' -fuzztime $(FUZZ_HISTORY)

# Redis and PostgreSQL are started by the tests themselves (private dirs, free ports);
# here we only make sure the binaries exist.
test-deps:
	@command -v redis-server >/dev/null && command -v redis-cli >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server redis-tools postgresql; \
	  else \
	    echo "install redis-server, redis-cli and postgresql (apt-get install redis-server redis-tools postgresql)"; exit 1; \
	  fi; }
	@command -v promtool >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; \
	  else echo "install promtool (apt-get install prometheus)"; exit 1; fi; }
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	  else echo "install chromium (apt-get install chromium)"; exit 1; fi; }
	@command -v node >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm; \
	  else echo "install nodejs and npm"; exit 1; fi; }

npm-deps:
	@for d in $(NPM_DIRS); do \
	  if [ ! -d $$d/node_modules ] || [ $$d/package-lock.json -nt $$d/node_modules ]; then \
	    echo "npm ci in $$d"; (cd $$d && npm ci --no-audit --no-fund) || exit 1; \
	  fi; \
	done

## generate: regenerate gqlgen output (graph/) from schema.graphqls.
generate:
	$(GO) generate ./...

## check-generated: fail when regenerating changes any file.
check-generated: generate
	@git diff --exit-code --stat -- graph resolvers schema.graphqls || { echo "generated code is stale: run make generate"; exit 1; }

## web: rebuild the embedded pages (GraphiQL, /handover, /overview) from npm; commit web/dist.
web:
	cd web && npm ci --no-audit --no-fund && npm run build

## bench: the benchmarks behind the README's figures (each beside its baseline).
bench:
	$(GO) test ./twinsync -run '^$$' -bench 'Worker_EndToEnd|Worker_Latency' -benchtime 1x
	$(GO) test ./cmd/twingraph -run '^$$' -bench Gateway -benchtime 1x
	$(GO) test ./store/redis -run '^$$' -bench 'GetStates1000|PutStates1000' -benchtime 2s
	$(GO) test ./store/postgres -run '^$$' -bench QueryHistory24h1m -benchtime 1000x
	$(GO) test ./store/postgres -run '^$$' -bench AppendSamples -benchtime 20x

## bench-e2e: the production-path figures, measured from outside the process: the real
## binary over private redis-server and PostgreSQL, 1M records through Kafka, HTTP at fixed
## rates for 10 s, each beside its baseline (TWIN_BENCH_EVENTS, TWIN_BENCH_SECONDS to resize).
bench-e2e: test-deps
	$(GO) test ./loadtest -run '^$$' -bench ProductionPath -benchtime 1x -timeout 30m -v

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go' | grep -v '^graph/')
