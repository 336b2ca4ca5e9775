# Vigil build. `make` builds build/vigil; `make run` and `make test` are the README's
# two commands (both install what they need first). Sources are discovered: every
# src/<module>/*.c goes into the library, src/cli/main.c is the program, every
# tests/unit/test_*.c is its own test binary, every tests/fuzz/fuzz_*.c a fuzz target.

CC      ?= cc
REV     := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CFLAGS  ?= -O2 -g
# libzstd, libsnappy and liblz4: Parquet page compression (src/parquet; zlib does GZIP).
LIBS    := -lmicrohttpd -ljansson -lz -lzstd -lsnappy -llz4 -lxxhash -lpthread -lm
# The processing engine embeds CPython (src/engine/py.c). pkg-config's python3-embed is
# the system's libpython (a python3 earlier in PATH, such as pyenv's, is not used).
PY_PC     := python3-embed
PY_CFLAGS := $(shell pkg-config --cflags $(PY_PC) 2>/dev/null) \
             -DVIGIL_PYTHON_HOME='"$(shell pkg-config --variable=prefix $(PY_PC) 2>/dev/null)"'
LIBS    += $(shell pkg-config --libs $(PY_PC) 2>/dev/null)
PYTHON  := /usr/bin/python3

MAIN_SRC := $(sort $(wildcard src/cli/*.c))
# EXCLUDE_MODULES lets a developer build while a module is mid-rewrite
# (e.g. `make EXCLUDE_MODULES=parquet`); empty in every real build.
EXCLUDE_MODULES ?=
LIB_SRC  := $(filter-out $(MAIN_SRC) $(foreach m,$(EXCLUDE_MODULES),src/$(m)/%.c),$(sort $(wildcard src/*/*.c)))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

# $(call objs,<builddir>,<sources>)
objs = $(patsubst %.c,$(1)/obj/%.o,$(2))

B  := build
BA := build-asan
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

.PHONY: all run test deps test-deps unit unit-asan fuzz-replay integration check-deps \
        fuzz bench clean asan format

all: $(B)/vigil

# Only server.c needs the revision (for /ping); keeping it out of every other
# object means a commit does not rebuild the world.
$(B)/obj/src/server/server.o $(BA)/obj/src/server/server.o: CSTD += -DVIGIL_REVISION='"$(REV)"'
# Only py.c includes Python.h; it also assembles bootstrap.py into the binary.
$(B)/obj/src/engine/py.o $(BA)/obj/src/engine/py.o: CSTD += $(PY_CFLAGS)
$(B)/obj/src/engine/py.o $(BA)/obj/src/engine/py.o: src/engine/bootstrap.py

# ---- normal build ----
$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) -Isrc -Itests/unit -MMD -MP -c $< -o $@

$(B)/libvigil.a: $(call objs,$(B),$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(B)/vigil: $(call objs,$(B),$(MAIN_SRC)) $(B)/libvigil.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(B)/libvigil.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(B)/fuzz-replay/%: $(B)/obj/tests/fuzz/%.o $(B)/obj/tests/fuzz/replay.o $(B)/libvigil.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/crash_dump: $(B)/obj/tests/crash/crash_dump.o $(B)/libvigil.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

# The Parquet interop tool (tests/interop): writes every kind of file we produce and
# dumps any Parquet file as JSON lines.
$(B)/tests/pq_tool: $(B)/obj/tests/interop/pq_tool.o $(B)/libvigil.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

# ---- sanitizer build (ASan + UBSan) ----
$(BA)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(ASAN_FLAGS) -Isrc -Itests/unit -MMD -MP -c $< -o $@

$(BA)/libvigil.a: $(call objs,$(BA),$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(BA)/vigil: $(call objs,$(BA),$(MAIN_SRC)) $(BA)/libvigil.a
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(LIBS)

$(BA)/tests/%: $(BA)/obj/tests/unit/%.o $(BA)/libvigil.a
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(LIBS)

$(BA)/fuzz-replay/%: $(BA)/obj/tests/fuzz/%.o $(BA)/obj/tests/fuzz/replay.o $(BA)/libvigil.a
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(LIBS)

UNIT_BINS      := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
UNIT_BINS_ASAN := $(patsubst tests/unit/%.c,$(BA)/tests/%,$(UNIT_SRC))
FUZZ_NAMES     := $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRC))
FUZZ_REPLAY    := $(addprefix $(BA)/fuzz-replay/,$(FUZZ_NAMES))

asan: $(BA)/vigil

# ---- the README's commands ----
deps:
	@tools/install-deps.sh run

test-deps:
	@tools/install-deps.sh test

# The build runs in a sub-make: the Python flags come from pkg-config, which can only
# answer once `deps` has installed python3-dev.
run: deps
	@$(MAKE) --no-print-directory $(B)/vigil
	$(B)/vigil serve --data-dir ./data --http-bind 127.0.0.1:8181 --without-auth

test: test-deps
	@$(MAKE) --no-print-directory check-deps unit unit-asan fuzz-replay
	@$(MAKE) --no-print-directory $(B)/vigil $(BA)/vigil $(B)/tests/crash_dump $(B)/tests/pq_tool
	@$(MAKE) --no-print-directory integration

check-deps:
	@tools/check_deps.sh

unit: $(UNIT_BINS)
	@tools/run_unit.sh $(UNIT_BINS)

unit-asan: $(UNIT_BINS_ASAN)
	@$(LSAN_ENV) tools/run_unit.sh $(UNIT_BINS_ASAN)

fuzz-replay: $(FUZZ_REPLAY)
	@for f in $(FUZZ_NAMES); do $(BA)/fuzz-replay/$$f tests/fuzz/corpus/$${f#fuzz_} || exit 1; done

# Integration tests run against the sanitizer binary too; pytest's closing line ends
# the output. tests/differential compares the SQL engine with DuckDB (its npm package
# comes from `make test-deps`); the ASan binary runs a ~100-query subset of it.
# tests/interop checks our Parquet files against DuckDB and hyparquet (also npm).
# The embedded Python interpreter keeps some memory until exit by design; LeakSanitizer
# is told to ignore allocations made inside libpython only (tests/lsan.supp).
LSAN_ENV := LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0

integration: $(B)/vigil $(BA)/vigil $(B)/tests/crash_dump $(B)/tests/pq_tool
	$(LSAN_ENV) VIGIL_BINS="$(abspath $(B)/vigil) $(abspath $(BA)/vigil)" $(PYTHON) -m pytest -q tests/integration tests/crash tests/differential tests/interop

# ---- libFuzzer (clang-14), not part of `make test` ----
FUZZ_SECONDS ?= 60
fuzz:
	@for f in $(FUZZ_NAMES); do \
	  mkdir -p $(B)/fuzz && \
	  clang-14 $(CSTD) $(PY_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
	    tests/fuzz/$$f.c $(LIB_SRC) -o $(B)/fuzz/$$f $(LIBS) || exit 1; \
	  $(B)/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) tests/fuzz/corpus/$${f#fuzz_} || exit 1; \
	done

bench: $(B)/vigil
	@$(MAKE) --no-print-directory -C bench

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h' 'bench/*.c')

clean:
	rm -rf $(B) $(BA)

-include $(shell find $(B) $(BA) -name '*.d' 2>/dev/null)
