# SystemHealer build. `make run` and `make test` are the two entry points
# (see README.md); both install missing dependencies first via `make deps`.
#
# Layout: src/core -> build/libhealer.a (the engine), src/service ->
# build/libhealer_service.a (the web platform's pieces), src/cli ->
# build/healer, tests/unit/test_*.c -> one cmocka binary each, built twice:
# plain and with AddressSanitizer + UndefinedBehaviorSanitizer (build/asan/).

CC      ?= cc
OPT     ?= -O3
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASE    := -std=c11 -ffp-contract=off -D_GNU_SOURCE -Iinclude -pthread $(WARN)
LDLIBS  := -lm -pthread
SVC_LIBS := -lmicrohttpd -ljansson -lsqlite3 -lsodium
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

CORE_SRC := $(wildcard src/core/*.c)
SVC_SRC  := $(wildcard src/service/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/unit/test_*.c)

CORE_OBJ := $(CORE_SRC:src/%.c=build/obj/%.o)
SVC_OBJ  := $(SVC_SRC:src/%.c=build/obj/%.o)
CLI_OBJ  := $(CLI_SRC:src/%.c=build/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=build/tests/%)

ASAN_CORE_OBJ := $(CORE_SRC:src/%.c=build/asan/obj/%.o)
ASAN_SVC_OBJ  := $(SVC_SRC:src/%.c=build/asan/obj/%.o)
ASAN_TEST_BIN := $(TEST_SRC:tests/unit/%.c=build/asan/tests/%)
ASAN_CLI_OBJ  := $(CLI_SRC:src/%.c=build/asan/obj/%.o)

.PHONY: all web deps run demo screenshots test unit-tests asan-tests cli-tests bench clean format lint

all: build/healer web

# The web UI served by healer serve (mk/web.sh): sources + pinned vendor
# files copied to web/dist with gzip twins.
WEB_SRC := $(shell find web/src -type f 2>/dev/null)
web: web/dist/.stamp
web/dist/.stamp: $(WEB_SRC) web/package-lock.json mk/web.sh
	@sh mk/web.sh

deps:
	@sh mk/deps.sh

build/obj/%.o: src/%.c $(wildcard include/healer/*.h) $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) -Isrc/service -c $< -o $@

build/asan/obj/%.o: src/%.c $(wildcard include/healer/*.h) $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -O1 -g $(SAN) -Isrc/service -c $< -o $@

build/libhealer.a: $(CORE_OBJ)
	@mkdir -p build
	rm -f $@ && ar rcs $@ $^

build/asan/libhealer.a: $(ASAN_CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

# The service library; an empty archive while src/service has no sources.
build/libhealer_service.a: $(SVC_OBJ)
	@mkdir -p build
	rm -f $@ && ar rcs $@ $^

build/asan/libhealer_service.a: $(ASAN_SVC_OBJ)
	@mkdir -p build/asan
	rm -f $@ && ar rcs $@ $^

build/healer: $(CLI_OBJ) build/libhealer_service.a build/libhealer.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) build/libhealer_service.a build/libhealer.a $(SVC_LIBS) $(LDLIBS)

# The whole server under the sanitizers: the API suites run against it too.
build/asan/healer: $(ASAN_CLI_OBJ) build/asan/libhealer_service.a build/asan/libhealer.a
	$(CC) $(BASE) -O1 -g $(SAN) -o $@ $(ASAN_CLI_OBJ) build/asan/libhealer_service.a build/asan/libhealer.a $(SVC_LIBS) $(LDLIBS)

build/tests/%: tests/unit/%.c tests/unit/testutil.h build/libhealer_service.a build/libhealer.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) -Isrc/core -Isrc/service -o $@ $< build/libhealer_service.a build/libhealer.a -lcmocka $(SVC_LIBS) $(LDLIBS)

build/asan/tests/%: tests/unit/%.c tests/unit/testutil.h build/asan/libhealer_service.a build/asan/libhealer.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -O1 -g $(SAN) -Isrc/core -Isrc/service -o $@ $< build/asan/libhealer_service.a build/asan/libhealer.a -lcmocka $(SVC_LIBS) $(LDLIBS)

unit-tests: $(TEST_BIN)
asan-tests: $(ASAN_TEST_BIN)

# Everything: unit tests (plain and sanitized) and the CLI tests, with one
# summary line at the end ("N passed, N failed").
test: deps
	@$(MAKE) --no-print-directory all unit-tests asan-tests build/asan/healer
	@sh tests/run.sh

# The platform on its embedded defaults: SQLite and files under ./var/.
# It prints the URL and how to log in (a one-time setup token on the very
# first start); Ctrl-C stops it gracefully.
LISTEN   ?= 127.0.0.1:8080
DATA_DIR ?= var
run: deps
	@$(MAKE) --no-print-directory all
	@exec build/healer serve --listen $(LISTEN) --data-dir $(DATA_DIR)

# The README's screenshots, taken by the browser tests (tests/e2e).
screenshots: deps
	@$(MAKE) --no-print-directory all
	SCREENSHOT_DIR=docs/screenshots node tests/e2e/test_ui.mjs

# A guided tour of the command-line engine on simulated data.
demo: all
	@sh mk/demo.sh

bench: all
	@sh bench/run.sh

format:
	clang-format -i include/healer/*.h src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h

lint:
	cppcheck --quiet --enable=warning,performance,portability --std=c11 -Iinclude src

clean:
	rm -rf build web/dist
