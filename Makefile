# ringside — one entry point: deps, all, run, test, bench, install, clean.
#
#   make            build everything (after `make deps`)
#   make run        start the sidecar on the embedded default configuration
#   make test       unit + end-to-end tests (criterion)
#   make SAN=1 test the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make CC=clang   any of the above with clang

CC      ?= cc
SAN     ?= 0
O       ?= 2
BUILD   := build$(if $(filter 1,$(SAN)),-san,)$(if $(filter clang,$(notdir $(CC))),-clang,)

# Debian 12 packages the project needs; `make deps` installs the missing ones.
DEB_PKGS := build-essential pkg-config liburing-dev libjansson-dev libfyaml-dev \
            libcriterion-dev libcurl4-openssl-dev libmbedtls-dev libhiredis-dev \
            libhttp-parser-dev redis-server binutils openssl socat nghttp2-proxy

CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -O$(O) -g -Wall -Wextra -Werror -Wshadow \
               -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers \
               -fno-strict-aliasing -pthread -I. -Ishm -Ilibstub -Isidecar
ifeq ($(SAN),1)
CFLAGS_BASE += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS_SAN := -fsanitize=address,undefined
endif

PKGS_SIDECAR := liburing jansson libfyaml libcurl
CFLAGS_DEPS  = $(shell pkg-config --cflags $(PKGS_SIDECAR) 2>/dev/null)
LIBS_SIDECAR = $(shell pkg-config --libs $(PKGS_SIDECAR) 2>/dev/null)
LIBS_TEST    = $(shell pkg-config --libs criterion 2>/dev/null)

SHM_SRC     := $(wildcard shm/*.c)
STUB_SRC    := $(wildcard libstub/rs_*.c)
SIDECAR_SRC := $(filter-out sidecar/main.c,$(wildcard sidecar/*.c sidecar/providers/*.c))
UNIT_SRC    := $(wildcard tests/unit/*.c)
E2E_SRC     := $(wildcard tests/e2e/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
pic = $(patsubst %.c,$(BUILD)/pic/%.o,$(1))

RINGSIDE    := $(BUILD)/ringside
CHAT        := $(BUILD)/ringside-chat
LIBA        := $(BUILD)/libringside.a
LIBSO       := $(BUILD)/libringside.so
BENCH       := $(BUILD)/ringside-bench
MOCKLLM     := $(BUILD)/mockllm
MOCKLLM_SRC := $(wildcard bench/mockllm/*.c)
RBENCH_SRC  := $(wildcard bench/rbench/*.c)
UNIT        := $(BUILD)/test-unit
E2E         := $(BUILD)/test-e2e

.PHONY: all deps run test unit e2e bench clean install check-deps
all: check-deps $(RINGSIDE) $(CHAT) $(LIBA) $(LIBSO) $(MOCKLLM) $(BENCH)

# ---- dependencies -----------------------------------------------------------
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; exit 0; fi; \
	echo "deps: installing$$missing"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO=sudo; \
	else echo "deps: not root and no sudo; please install:$$missing" >&2; exit 1; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null \
	  || { echo "deps: apt-get failed; please install:$$missing" >&2; exit 1; }

# Cheap check so plain `make` on a fresh machine says what is wrong instead of
# failing deep inside a compile.
check-deps:
	@pkg-config --exists $(PKGS_SIDECAR) criterion || $(MAKE) --no-print-directory deps

# ---- build -----------------------------------------------------------------
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CFLAGS_DEPS) -MMD -MP -c $< -o $@

# libringside: libc only, -fPIC for the shared object, hidden by default so
# only the rs_ API (marked RS_API) is exported.
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -DRS_BUILDING_LIB -fPIC -fvisibility=hidden -MMD -MP -c $< -o $@

# The archive holds one pre-linked object whose hidden symbols are made local,
# so a static link leaks nothing but rs_ into the application either.
$(LIBA): $(call pic,$(STUB_SRC) $(SHM_SRC))
	@rm -f $@
	$(LD) -r -o $(BUILD)/libringside.o $^
	objcopy --localize-hidden $(BUILD)/libringside.o
	ar rcs $@ $(BUILD)/libringside.o

$(LIBSO): $(call pic,$(STUB_SRC) $(SHM_SRC)) libstub/ringside.map
	$(CC) -shared -Wl,--version-script=libstub/ringside.map -Wl,-soname,libringside.so.1 \
	  $(LDFLAGS_SAN) -o $@ $(call pic,$(STUB_SRC) $(SHM_SRC))

$(RINGSIDE): $(call obj,sidecar/main.c $(SIDECAR_SRC) $(SHM_SRC))
	$(CC) $(LDFLAGS_SAN) -pthread -o $@ $^ $(LIBS_SIDECAR)

$(CHAT): $(call obj,libstub/tools/ringside-chat.c) $(LIBA)
	$(CC) $(LDFLAGS_SAN) -o $@ $^

$(UNIT): $(call obj,$(UNIT_SRC) $(SIDECAR_SRC) $(SHM_SRC) $(STUB_SRC) bench/rbench/rb_stats.c)
	$(CC) $(LDFLAGS_SAN) -pthread -o $@ $^ $(LIBS_SIDECAR) $(LIBS_TEST) -lm

# End-to-end tests drive the sidecar through libringside, and through the raw
# shm/ layer when they play a hostile client.
$(E2E): $(call obj,$(E2E_SRC) $(SHM_SRC)) $(LIBA)
	$(CC) $(LDFLAGS_SAN) -pthread -o $@ $^ $(LIBS_TEST)

# ringside-bench: the load harness (bench/rbench/). The floor modes use the
# shm/ layer directly, the shm modes libringside, direct mode libcurl.
$(BENCH): $(call obj,$(RBENCH_SRC) $(SHM_SRC)) $(LIBA)
	$(CC) $(LDFLAGS_SAN) -o $@ $^ $(shell pkg-config --libs libcurl) -lm

# mockllm: a fake provider server for tests and benchmarks (libc + jansson).
$(MOCKLLM): $(call obj,$(MOCKLLM_SRC))
	$(CC) $(LDFLAGS_SAN) -pthread -o $@ $^ $(shell pkg-config --libs jansson)

# ---- entry points ------------------------------------------------------------
run: all
	./$(RINGSIDE)

unit: check-deps $(UNIT)
	tests/run.sh ./$(UNIT) --jobs 2

e2e: all $(E2E)
	RINGSIDE_BIN=$(abspath $(RINGSIDE)) RINGSIDE_CHAT=$(abspath $(CHAT)) RINGSIDE_MOCKLLM=$(abspath $(MOCKLLM)) \
	RINGSIDE_LIBA=$(abspath $(LIBA)) RINGSIDE_LIBSO=$(abspath $(LIBSO)) RINGSIDE_BENCH=$(abspath $(BENCH)) \
	tests/run.sh ./$(E2E) --jobs 2

test: deps
	@$(MAKE) --no-print-directory unit e2e

# The standard suite: starts mockllm and a sidecar, runs every mode in every
# load shape, prints the table and where the JSON and SVG charts are.
bench: all
	./$(BENCH) -b $(BUILD) -o bench/results

install: all
	install -d $(DESTDIR)/usr/local/bin $(DESTDIR)/usr/local/lib $(DESTDIR)/usr/local/include
	install -m 755 $(RINGSIDE) $(CHAT) $(DESTDIR)/usr/local/bin/
	install -m 644 $(LIBA) $(DESTDIR)/usr/local/lib/
	install -m 755 $(LIBSO) $(DESTDIR)/usr/local/lib/libringside.so.1
	install -m 644 libstub/ringside.h $(DESTDIR)/usr/local/include/

clean:
	rm -rf build build-san build-clang build-san-clang

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
