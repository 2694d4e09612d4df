# Makefile — atsrecon's own code. build.sh drives it (it builds the pinned
# libraries first); direct use: make MODE=dev DEPS=build/deps/glibc OUT=build/dev
#
#   MODE=release  static musl binary, size-trimmed, stripped
#   MODE=dev      glibc binary with ASan + UBSan (-fno-sanitize-recover), same libraries

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
LDMODE   = -static -Wl,--gc-sections -s
else
OPT      = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDMODE   = -fsanitize=address,undefined
endif

CPPFLAGS = -isystem $(DEPS)/include -DATSRECON_VERSION='"$(VERSION)"'
CFLAGS   = -std=c11 $(WARN) $(OPT)
LIBS     = -L$(DEPS)/lib -lcurl -lmbedtls -lmbedx509 -lmbedcrypto -lz -lcjson -llmdb -lm -pthread

SRCS     = $(wildcard src/*.c)
LIBOBJS  = $(patsubst src/%.c,$(OUT)/obj/%.o,$(filter-out src/main.c,$(SRCS))) $(OUT)/obj/ca_embed.o
TESTSRCS = $(wildcard tests/unit/test_*.c)
TESTS    = $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(TESTSRCS))
BENCHES  = $(patsubst bench/%.c,$(OUT)/bench/%,$(wildcard bench/*.c))

all: $(OUT)/atsrecon

tests: $(TESTS)

$(OUT)/atsrecon: $(LIBOBJS) $(OUT)/obj/main.o
	$(CC) $(OPT) $(LDMODE) -o $@ $^ $(LIBS)

$(OUT)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(OUT)/obj/ca_embed.o: src/ca_embed.S $(CA_BUNDLE)
	@mkdir -p $(dir $@)
	$(CC) -DCA_BUNDLE='"$(abspath $(CA_BUNDLE))"' -c -o $@ src/ca_embed.S

$(OUT)/tests/%: tests/unit/%.c tests/unit/t.h tests/unit/fakeadm.h $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Isrc $(CFLAGS) -Wno-missing-prototypes -Wno-missing-declarations \
		$(LDMODE:-s=) -o $@ $< $(LIBOBJS) $(LIBS)

$(OUT)/bench/%: bench/%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Isrc $(CFLAGS) -Wno-missing-prototypes -Wno-missing-declarations \
		$(LDMODE) -o $@ $< $(LIBOBJS) $(LIBS)

benches: $(BENCHES)

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

.PHONY: all tests benches man
