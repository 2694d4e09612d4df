# Makefile — atsrecon's own code. build.sh drives it (it builds the pinned
# libraries first); direct use: make MODE=dev DEPS=build/deps/glibc OUT=build/dev
#
#   MODE=release  static musl binary, size-trimmed, stripped
#   MODE=dev      glibc binary with ASan + UBSan (-fno-sanitize-recover), same libraries
#   MODE=fuzz     clang, libFuzzer targets tests/fuzz/fuzz_*.c with ASan + UBSan
#                 (make MODE=fuzz CC=clang fuzzers; ./build.sh fuzz runs them)
#   MODE=valgrind glibc binary and unit tests without sanitizers (-O1 -g), for
#                 valgrind's memcheck (./build.sh valgrind)

MODE     ?= dev
OUT      ?= build/$(MODE)
# one spelling of OUT, so the .d dependency files always match the targets
override OUT := $(abspath $(OUT))
DEPS     ?= build/deps/$(if $(filter release,$(MODE)),musl,glibc)
CA_BUNDLE ?= build/ca-bundle.pem
VERSION  := $(shell cat VERSION)

WARN = -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	-Wmissing-declarations -Wpointer-arith -Wsign-compare -Wundef -Wvla \
	-Wnull-dereference -Wimplicit-fallthrough -Werror

ifeq ($(MODE),release)
CC       ?= musl-gcc
OPT      = -O2 -ffunction-sections -fdata-sections
# every memcpy call goes to src/memcopy.c's (musl's is slow on short copies)
LDMODE   = -static -Wl,--gc-sections -Wl,--wrap=memcpy -s
MODEDEFS = -DATSRECON_WRAP_MEMCPY
else ifeq ($(MODE),fuzz)
# every object carries the fuzzer's coverage hooks; only the targets link libFuzzer
OPT      = -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=all
LDMODE   = -fsanitize=fuzzer-no-link,address,undefined
else ifeq ($(MODE),valgrind)
OPT      = -O1 -g -fno-omit-frame-pointer
LDMODE   =
else
OPT      = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDMODE   = -fsanitize=address,undefined
endif

CPPFLAGS = -isystem $(DEPS)/include -DATSRECON_VERSION='"$(VERSION)"' $(MODEDEFS)
CFLAGS   = -std=c11 $(WARN) $(OPT)
LIBS     = -L$(DEPS)/lib -lcurl -lmbedtls -lmbedx509 -lmbedcrypto -lz -lcjson -llmdb -lm -pthread

SRCS     = $(wildcard src/*.c)
LIBOBJS  = $(patsubst src/%.c,$(OUT)/obj/%.o,$(filter-out src/main.c,$(SRCS))) $(OUT)/obj/ca_embed.o
TESTSRCS = $(wildcard tests/unit/test_*.c)
TESTS    = $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(TESTSRCS))
BENCHES  = $(patsubst bench/%.c,$(OUT)/bench/%,$(wildcard bench/*.c))
FUZZERS  = $(patsubst tests/fuzz/%.c,$(OUT)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
# The fuzz targets answer the network calls themselves (tests/fuzz/wire.c):
# the drivers' calls to http.c's request functions, and sleep_ms, are
# redirected to it at link time, so the fuzzer's bytes are what the "server"
# sent, and no target sleeps.
FUZZWRAP = -Wl,--wrap=http_run,--wrap=http_call,--wrap=http_do,--wrap=sleep_ms

all: $(OUT)/atsrecon

tests: $(TESTS)

$(OUT)/atsrecon: $(LIBOBJS) $(OUT)/obj/main.o
	$(CC) $(OPT) $(LDMODE) -o $@ $^ $(LIBS)

$(OUT)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# the memcpy of the release build must not be compiled into a call to memcpy
ifeq ($(MODE),release)
$(OUT)/obj/memcopy.o: CFLAGS += -fno-builtin -fno-tree-loop-distribute-patterns
endif

$(OUT)/obj/ca_embed.o: src/ca_embed.S $(CA_BUNDLE)
	@mkdir -p $(dir $@)
	$(CC) -DCA_BUNDLE='"$(abspath $(CA_BUNDLE))"' -c -o $@ src/ca_embed.S

$(OUT)/tests/%: tests/unit/%.c tests/unit/t.h tests/unit/tlog.h tests/unit/fakeadm.h tests/unit/atsenv.h tests/unit/rules.h tests/unit/kct.h $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Isrc $(CFLAGS) -Wno-missing-prototypes -Wno-missing-declarations \
		$(LDMODE:-s=) -o $@ $< $(LIBOBJS) $(LIBS)

$(OUT)/bench/%: bench/%.c bench/rss.h bench/pull.h $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Isrc $(CFLAGS) -Wno-missing-prototypes -Wno-missing-declarations \
		$(LDMODE) -o $@ $< $(LIBOBJS) $(LIBS)

benches: $(BENCHES)

$(OUT)/fuzz/%: tests/fuzz/%.c tests/fuzz/wire.c tests/fuzz/wire.h $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Isrc -Itests/fuzz $(CFLAGS) -Wno-missing-prototypes \
		-Wno-missing-declarations -fsanitize=fuzzer,address,undefined -o $@ $< \
		tests/fuzz/wire.c $(LIBOBJS) $(LIBS) $(FUZZWRAP)

fuzzers: $(FUZZERS)

# The man pages, generated from the option and command tables (tools/genman.c
# includes src/main.c for the command table). The pages are committed; the
# docs test fails when they differ from what genman writes.
$(OUT)/tools/genman: tools/genman.c src/main.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Isrc $(CFLAGS) $(LDMODE:-s=) -o $@ tools/genman.c $(LIBOBJS) $(LIBS)

man: $(OUT)/tools/genman
	$(OUT)/tools/genman 1 >docs/atsrecon.1.tmp && mv docs/atsrecon.1.tmp docs/atsrecon.1
	$(OUT)/tools/genman 5 >docs/atsrecon.conf.5.tmp && mv docs/atsrecon.conf.5.tmp docs/atsrecon.conf.5

-include $(wildcard $(OUT)/obj/*.d)

.PHONY: all tests benches fuzzers man
