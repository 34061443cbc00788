# dynaseal — one hand-written Makefile.  `make` builds bin/dynaseal, `make test` runs every
# test, `make demo` runs the local demo.  SANITIZE=1 builds everything with ASan+UBSan.

CC      ?= cc
PKGS    := libevent libevent_openssl libevent_pthreads openssl libcjson hiredis zlib gmp
LLHTTP_SRC ?= /usr/share/llhttp
LLHTTP_INC ?= /usr/share/include/llhttp

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror -Wno-format-truncation
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -I. -I$(LLHTTP_INC) $(WARN)
LDLIBS  += -lpthread -lm

ifeq ($(SANITIZE),1)
BUILD   := build/san
CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
else
BUILD   := build/rel
endif

# pkg-config is only asked when a build needs it: `make clean` works on an empty machine.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

BIN     := bin/dynaseal$(if $(filter 1,$(SANITIZE)),-san,)

# The layers, lowest first (README "Architecture"): a file may include the headers of its own
# folder and of the folders before it, never of one after it.  check-layers enforces it.
LAYERS  := proxy/base config proxy/net crypto/item crypto/legacy crypto/aws cache crypto/keyring proxy/ddb \
	proxy proxy/cmd

# Every module's sources; main.c is kept apart so unit tests link the rest.
LIB_SRC := $(filter-out proxy/cmd/main.c,$(foreach d,$(LAYERS),$(wildcard $(d)/*.c)))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LLHTTP_OBJ := $(BUILD)/llhttp/llhttp.o $(BUILD)/llhttp/api.o $(BUILD)/llhttp/http.o

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# --- First the packages, then the work ----------------------------------------------------------
# Each target first runs deploy/install-deps.sh with the profile it needs, then does its work in
# a new make (DEPS_READY=1), which reads this file again.  It must be a new make: GNU make
# remembers which files it looked for and did not find, so a make that started before
# node-llhttp was installed would never find llhttp's sources.  Command-line variables (SANITIZE=1,
# FUZZ_SECONDS=...) and -j reach the inner make.  `make DEPS_READY=1 TARGET` skips the install.
ifndef DEPS_READY

# The install-deps.sh profile of each target; other goals (bin/dynaseal, a build/ file) build.
DEPS_clean :=
DEPS_all := build
DEPS_unit := unit
DEPS_demo := demo
DEPS_run := demo
DEPS_test := test
DEPS_integration := test
DEPS_integration-san := test
DEPS_integration-valgrind := test
DEPS_faults := test
DEPS_diff := test
DEPS_soak := test
DEPS_bench := bench
DEPS_callgrind := test
DEPS_fuzz := fuzz
DEPS_fresh-demo := fresh
DEPS_deps := all

GOALS := $(or $(MAKECMDGOALS),all)
DEPS_PROFILES := $(sort $(foreach g,$(GOALS),$(if $(filter undefined,$(origin DEPS_$(g))),build,$(DEPS_$(g)))))

.PHONY: $(GOALS) deps-then-work
$(GOALS): deps-then-work
	@:

deps-then-work:
	$(if $(DEPS_PROFILES),@deploy/install-deps.sh $(DEPS_PROFILES))
	@$(MAKE) --no-print-directory DEPS_READY=1 $(MAKECMDGOALS)

else

.PHONY: check-layers all test unit diff integration integration-san faults soak integration-valgrind demo run clean deps bench callgrind fuzz check-deps fresh-demo
all: $(BIN)

$(BIN): $(BUILD)/proxy/cmd/main.o $(LIB_OBJ) $(LLHTTP_OBJ) | check-layers
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# Fails the build when a file includes a header of a layer above its own.
check-layers:
	@fail=0; allowed=; for layer in $(LAYERS); do allowed="$$allowed $$layer"; \
	  for f in $$layer/*.[ch]; do [ -e "$$f" ] || continue; \
	    for inc in $$(sed -n 's|^#include "\(.*\)/[^/]*"$$|\1|p' "$$f"); do \
	      case " $$allowed " in *" $$inc "*) ;; \
	      *) echo "check-layers: $$f includes a header of $$inc; $$layer may include only:$$allowed"; \
	         fail=1 ;; esac; done; done; done; exit $$fail

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

# llhttp ships as C sources in Debian's node-llhttp; they are compiled here, not vendored.
$(BUILD)/llhttp/%.o: $(LLHTTP_SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-unused-parameter -Wno-missing-prototypes -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ) $(LLHTTP_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -o $@ $(filter %.c %.o,$^) $(PKG_LIBS) -lcmocka $(LDLIBS) $(LDFLAGS)

# Suites that make allocations fail wrap the allocator of the code they link.
$(BUILD)/tests/test_http_oom: LDFLAGS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc

# Suites that stand in for a module (tests/harness/route_stubs.h) link the library as an
# archive, so that only the members they do not replace are taken.
$(BUILD)/libdynaseal.a: $(LIB_OBJ) $(LLHTTP_OBJ)
	rm -f $@
	ar rcs $@ $^
ROUTE_STUB_TESTS := $(BUILD)/tests/test_refusals $(BUILD)/tests/test_route_nul \
		    $(BUILD)/tests/test_partiql_batch $(BUILD)/tests/test_route_index
$(ROUTE_STUB_TESTS): $(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libdynaseal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -o $@ $< $(BUILD)/libdynaseal.a $(PKG_LIBS) -lcmocka $(LDLIBS) $(LDFLAGS)

# libFuzzer targets (clang): every tests/fuzz/fuzz_*.c linked against the whole library as an
# archive (so a target may stand in for a module, as fuzz_route does for the network), each run
# FUZZ_SECONDS on its committed seed corpus (tests/fuzz/corpus/<name>/, grown in build/).
FUZZ_SECONDS ?= 30
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-std=c11 -D_GNU_SOURCE -I. -I$(LLHTTP_INC) -Wno-unused-parameter

FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzz/obj/%.o) $(addprefix build/fuzz/obj/llhttp/,llhttp.o api.o http.o)
.SECONDARY: $(FUZZ_OBJ)

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

build/fuzz/obj/llhttp/%.o: $(LLHTTP_SRC)/%.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -c -o $@ $<

build/fuzz/libdynaseal.a: $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $(FUZZ_OBJ)

build/fuzz/%: tests/fuzz/%.c build/fuzz/libdynaseal.a
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) $(PKG_CFLAGS) -o $@ $< build/fuzz/libdynaseal.a $(PKG_LIBS) $(LDLIBS)

fuzz: $(FUZZ_BIN)
	@python3 tests/fuzz/vector_seeds.py build/fuzz/seeds
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); \
	  mkdir -p build/fuzz/corpus/$$n; \
	  seeds=; [ -d tests/fuzz/corpus/$$n ] && seeds=tests/fuzz/corpus/$$n; \
	  [ -d build/fuzz/seeds/$$n ] && seeds="$$seeds build/fuzz/seeds/$$n"; \
	  echo "== $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build/fuzz/corpus/$$n $$seeds \
	    2>build/fuzz/$$n.log || { tail -50 build/fuzz/$$n.log; exit 1; }; \
	  grep -E "stat::number_of_executed_units" build/fuzz/$$n.log; done

# Every profile of deploy/install-deps.sh, installed by the outer make (above).
deps:
	@:

# Differential tests (tests/diff/): what dynaseal evaluates itself, against a local DynamoDB over
# generated cases; DIFF_CASES per test (make test runs a short form).
DIFF_TOOLS := $(BUILD)/diff/number_cli $(BUILD)/diff/cond_cli $(BUILD)/diff/update_cli
DIFF_CASES ?= 20000
# make test runs one fixed set of cases, so that its outcome depends on the code only; make diff
# draws new ones each run (DIFF_SEED=n repeats a run).
TEST_DIFF_SEED ?= 1
$(BUILD)/diff/%: tests/diff/%.c $(LIB_OBJ) $(LLHTTP_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -o $@ $(filter %.c %.o,$^) $(PKG_LIBS) $(LDLIBS) $(LDFLAGS)

diff: $(DIFF_TOOLS)
	@fail=0; for t in tests/diff/test_*.py; do \
	  NUMBER_CLI=$(BUILD)/diff/number_cli COND_CLI=$(BUILD)/diff/cond_cli UPDATE_CLI=$(BUILD)/diff/update_cli DIFF_CASES=$(DIFF_CASES) $(if $(DIFF_SEED),DIFF_SEED=$(DIFF_SEED)) python3 $$t || fail=1; done; \
	  exit $$fail

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do \
	  echo "== $$t"; $$t || fail=1; done; exit $$fail

integration: $(BIN)
	DYNASEAL_BIN=$(BIN) python3 tests/integration/run.py

# The integration suite against the ASan+UBSan build of the proxy.
integration-san:
	$(MAKE) SANITIZE=1 integration

# Injected faults (tests/faults/): misbehaving upstream, KMS and Redis, hostile clients.
faults: $(BIN)
	DYNASEAL_BIN=$(BIN) python3 tests/integration/run.py --dir tests/faults

# The integration suite with dynaseal under valgrind memcheck (slow: about half an hour).
integration-valgrind: $(BIN)
	DYNASEAL_BIN=$(BIN) DYNASEAL_VALGRIND=1 python3 tests/integration/run.py

# 256 keep-alive clients of mixed operations for SOAK_SECONDS (default 600); RSS and fds.
SOAK_SECONDS ?= 600
soak: $(BIN)
	SOAK_SECONDS=$(SOAK_SECONDS) DYNASEAL_BIN=$(BIN) python3 tests/soak/soak.py

test:
	$(MAKE) unit
	$(MAKE) diff DIFF_CASES=2000 DIFF_SEED=$(TEST_DIFF_SEED)
	$(MAKE) integration
	$(MAKE) faults

# Throughput and latency side by side (tests/bench/README.md); a few minutes; not part of test.
bench: $(BIN)
	tests/bench/run.sh

# Instructions per request under callgrind (tests/bench/README.md; about 3 minutes).
callgrind: $(BIN)
	tests/bench/callgrind.sh

demo: $(BIN)
	deploy/demo.sh

run: $(BIN)
	deploy/demo.sh --foreground

# A bare Debian 12 (debootstrap, with make and git only) runs the README's first command from a
# clone of HEAD; a few minutes (tests/fresh/README.md).  Needs root.
fresh-demo:
	tests/fresh/first_run.sh

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)

endif
