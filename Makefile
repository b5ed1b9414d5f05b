# SystemHealer build. `make run` and `make test` are the two entry points
# (see README.md); every target that builds first installs what is missing
# via `make deps` (idempotent, quick when nothing is missing).
#
# Layers, and what each may see (its include path):
#   src/core      -> build/libhealer.a          the engine: include/ and src/core only
#   src/service   -> build/libhealer_service.a  the web platform: include/ and src/service
#   src/cli       -> build/healer               the command: all of the above
# The engine's include path does not contain the service, so an engine file
# cannot even name a service header; mk/layers.py checks the rest (no cycle
# between files or folders, dependencies only downwards) on the objects.
# Objects are build/obj/<path under src>.o, with a .d file of the headers
# they read (-MMD), so a header change rebuilds exactly its users.
# Unit tests (tests/unit/test_*.c) are one cmocka binary each, built twice:
# plain and with AddressSanitizer + UndefinedBehaviorSanitizer (build/asan/).

CC      ?= cc
OPT     ?= -O3
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASE    := -std=c11 -ffp-contract=off -D_GNU_SOURCE -pthread -MMD -MP $(WARN)
# OpenBLAS (the MLP's matrix products): the engine's users link it.
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
LDLIBS  := $(BLAS_LIBS) -ljansson -lm -pthread
# libpq: the PostgreSQL backends of the store and the blobs (src/service/pg).
PQ_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
PQ_LIBS   := $(shell pkg-config --libs libpq 2>/dev/null || echo -lpq)
SVC_LIBS := -lmicrohttpd -ljansson -lsqlite3 -lsodium -lgnutls -lcurl $(PQ_LIBS)
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

CORE_INC := -Iinclude -Isrc/core $(BLAS_CFLAGS)
SVC_INC  := -Iinclude -Isrc/service $(PQ_CFLAGS)
CLI_INC  := -Iinclude -Isrc/service -Isrc/cli
TEST_INC := -Iinclude -Isrc/core -Isrc/service -Itests/unit $(PQ_CFLAGS)

CORE_SRC := $(shell find src/core -name '*.c' | sort)
SVC_SRC  := $(shell find src/service -name '*.c' | sort)
CLI_SRC  := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/unit/test_*.c)
# Shared by the unit tests that include them (the store contract suite).
TEST_LIB := $(filter-out $(TEST_SRC),$(wildcard tests/unit/*.c))

CORE_OBJ := $(CORE_SRC:src/%.c=build/obj/%.o)
SVC_OBJ  := $(SVC_SRC:src/%.c=build/obj/%.o)
CLI_OBJ  := $(CLI_SRC:src/%.c=build/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=build/tests/%)

ASAN_CORE_OBJ := $(CORE_SRC:src/%.c=build/asan/obj/%.o)
ASAN_SVC_OBJ  := $(SVC_SRC:src/%.c=build/asan/obj/%.o)
ASAN_CLI_OBJ  := $(CLI_SRC:src/%.c=build/asan/obj/%.o)
ASAN_TEST_BIN := $(TEST_SRC:tests/unit/%.c=build/asan/tests/%)

.PHONY: all build web deps run demo demo-rca screenshots test unit-tests asan-tests cli-tests bench clean format lint layers fuzz fuzz-build

# The entry points build with every core (`make test` builds four
# variants: plain, sanitized, their unit tests, the fuzz targets).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
SUBMAKE := $(MAKE) --no-print-directory -j$(JOBS)

# `make` alone: install what is missing, then build the command and the UI.
all: deps
	@$(SUBMAKE) build

build: build/healer web

# The web UI served by healer serve (mk/web.sh): sources + pinned vendor
# files copied to web/dist with gzip twins.
WEB_SRC := $(shell find web/src -type f 2>/dev/null)
web: web/dist/.stamp
web/dist/.stamp: $(WEB_SRC) web/package-lock.json mk/web.sh
	@sh mk/web.sh

deps:
	@sh mk/deps.sh

# ---- objects: one include path per layer ----

build/obj/core/%.o: src/core/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) $(CORE_INC) -c $< -o $@

build/obj/service/%.o: src/service/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) $(SVC_INC) -c $< -o $@

build/obj/cli/%.o: src/cli/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) $(CLI_INC) -c $< -o $@

build/asan/obj/core/%.o: src/core/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -O1 -g $(SAN) $(CORE_INC) -c $< -o $@

build/asan/obj/service/%.o: src/service/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -O1 -g $(SAN) $(SVC_INC) -c $< -o $@

build/asan/obj/cli/%.o: src/cli/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -O1 -g $(SAN) $(CLI_INC) -c $< -o $@

# ---- libraries and binaries ----

build/libhealer.a: $(CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

build/asan/libhealer.a: $(ASAN_CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

build/libhealer_service.a: $(SVC_OBJ)
	rm -f $@ && ar rcs $@ $^

build/asan/libhealer_service.a: $(ASAN_SVC_OBJ)
	rm -f $@ && ar rcs $@ $^

build/healer: $(CLI_OBJ) build/libhealer_service.a build/libhealer.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) build/libhealer_service.a build/libhealer.a $(SVC_LIBS) $(LDLIBS)

# The whole server under the sanitizers: the API suites run against it too.
build/asan/healer: $(ASAN_CLI_OBJ) build/asan/libhealer_service.a build/asan/libhealer.a
	$(CC) $(BASE) -O1 -g $(SAN) -o $@ $(ASAN_CLI_OBJ) build/asan/libhealer_service.a build/asan/libhealer.a $(SVC_LIBS) $(LDLIBS)

build/tests/%: tests/unit/%.c $(TEST_LIB) build/libhealer_service.a build/libhealer.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) $(TEST_INC) -o $@ $< $(TEST_LIB) build/libhealer_service.a build/libhealer.a -lcmocka $(SVC_LIBS) $(LDLIBS)

build/asan/tests/%: tests/unit/%.c $(TEST_LIB) build/asan/libhealer_service.a build/asan/libhealer.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -O1 -g $(SAN) $(TEST_INC) -o $@ $< $(TEST_LIB) build/asan/libhealer_service.a build/asan/libhealer.a -lcmocka $(SVC_LIBS) $(LDLIBS)

# Benchmarks written in C against the libraries (bench/*.c).
build/bench/%: bench/%.c build/libhealer_service.a build/libhealer.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) $(TEST_INC) -o $@ $< build/libhealer_service.a build/libhealer.a $(SVC_LIBS) $(LDLIBS)

# ---- fuzzing (tests/fuzz, tests/fuzz/README.md) ----
# libFuzzer targets, one per parser: tests/fuzz/<target>.c becomes
# build/fuzz/<target>. They need clang's instrumentation, so the engine and
# the service are compiled a third time, with clang, into build/fuzz/obj
# (the gcc objects in build/obj and the sanitizer ones in build/asan stay
# as they are). Sanitizer failures abort, so libFuzzer reports them.
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := $(BASE) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_SRC     := $(wildcard tests/fuzz/*.c)
FUZZ_TARGETS := $(FUZZ_SRC:tests/fuzz/%.c=%)
FUZZ_BIN     := $(FUZZ_TARGETS:%=build/fuzz/%)
FUZZ_CORE_OBJ := $(CORE_SRC:src/%.c=build/fuzz/obj/%.o)
FUZZ_SVC_OBJ  := $(SVC_SRC:src/%.c=build/fuzz/obj/%.o)
FUZZ_SECONDS ?= 600

build/fuzz/obj/core/%.o: src/core/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(CORE_INC) -c $< -o $@

build/fuzz/obj/service/%.o: src/service/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(SVC_INC) -c $< -o $@

build/fuzz/libhealer.a: $(FUZZ_CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

build/fuzz/libhealer_service.a: $(FUZZ_SVC_OBJ)
	rm -f $@ && ar rcs $@ $^

build/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h build/fuzz/libhealer_service.a build/fuzz/libhealer.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(BASE) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer $(TEST_INC) -o $@ $< build/fuzz/libhealer_service.a build/fuzz/libhealer.a $(SVC_LIBS) $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

# Each target for FUZZ_SECONDS (default 600) on its corpus; one target:
# `make fuzz FUZZ_TARGETS=csv FUZZ_SECONDS=60`.
fuzz: deps
	@$(SUBMAKE) fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_TARGETS)

-include $(shell find build -name '*.d' 2>/dev/null)

unit-tests: $(TEST_BIN)
asan-tests: $(ASAN_TEST_BIN)

# The layering rules, checked on the objects (mk/layers.py).
layers: build/healer
	@python3 mk/layers.py build/obj src

# Everything: unit tests (plain and sanitized), the layering check, the CLI,
# API and browser suites, several at once (tests/run.py: TEST_JOBS, default
# cores + 1), with one summary line at the end ("N passed, N failed").
test: deps
	@$(SUBMAKE) build unit-tests asan-tests build/asan/healer fuzz-build
	@sh tests/run.sh

# The platform on its embedded defaults: SQLite and files under ./var/.
# It prints the URL and how to log in (a one-time setup token on the very
# first start); Ctrl-C stops it gracefully.
# Plain HTTP is served on loopback only: another LISTEN needs TLS, e.g.
# SERVE_FLAGS="--tls-cert tls/cert.pem --tls-key tls/key.pem" (see
# docs/deploy.md; `build/healer cert --out tls` makes a pair for trying).
LISTEN   ?= 127.0.0.1:8080
DATA_DIR ?= var
SERVE_FLAGS ?=
run: deps
	@$(SUBMAKE) build
	@exec build/healer serve --listen $(LISTEN) --data-dir $(DATA_DIR) $(SERVE_FLAGS)

# The README's screenshots, taken by the browser tests (tests/e2e).
screenshots: deps
	@$(SUBMAKE) build
	SCREENSHOT_DIR=docs/screenshots node tests/e2e/test_ui.mjs

# A guided tour of the command-line engine on simulated data: diagnosis,
# then root-cause analysis over a topology (demo-rca runs that part alone).
demo: all
	@sh mk/demo.sh

demo-rca: all
	@sh mk/demo.sh rca

bench: all
	@sh bench/run.sh

format:
	clang-format -i $$(find include src tests/unit -name '*.[ch]')

lint:
	cppcheck --quiet --enable=warning,performance,portability --std=c11 -Iinclude -Isrc/core -Isrc/service src

clean:
	rm -rf build web/dist
