# llc - local learning coefficients of small transformers, in C.
#   make          build build/llc and build/libllc.a (make install: to $(PREFIX)/bin)
#   make check    build and run every test (installs missing Debian packages)
#   make demo     train, estimate and plot a small default run
#   make check SANITIZE=1   the same under AddressSanitizer + UBSan

CC      ?= cc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wpointer-arith -Wcast-qual \
           -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wundef -Wvla \
           -Wno-unused-parameter
CPPFLAGS += -DLLC_DATA_DIR=\"$(CURDIR)/data\" -Icore -Itasks -Isgld -Illc
LDLIBS  := -lopenblas -lgsl -lsqlite3 -lcjson -lpthread -lm
ifeq ($(SANITIZE),1)
  CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
  BUILD   := build-san
else
  BUILD   := build
endif
ALL_CFLAGS = $(WARN) $(CFLAGS)

LIB_SRC  := $(wildcard core/*.c sgld/*.c llc/*.c tasks/*.c)
CLI_SRC  := $(wildcard cli/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TESTUTIL := $(BUILD)/obj/tests/testutil.o
DEPS_OK  := $(BUILD)/.deps-ok

.PHONY: all check demo bench clean deps install
.SECONDARY:
PREFIX ?= /usr/local
all: $(BUILD)/llc

deps: $(DEPS_OK)
$(DEPS_OK):
	@sh .ci/install-deps
	@mkdir -p $(BUILD) && touch $@

$(BUILD)/obj/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libllc.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/llc: $(CLI_OBJ) $(BUILD)/libllc.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

install: $(BUILD)/llc
	install -D -m 755 $(BUILD)/llc $(DESTDIR)$(PREFIX)/bin/llc

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TESTUTIL) $(BUILD)/libllc.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

check: $(TEST_BIN) $(BUILD)/llc
	@BUILD=$(BUILD) LLC=$(BUILD)/llc sh tests/run.sh $(TEST_BIN)

demo: $(BUILD)/llc
	@LLC=$(BUILD)/llc sh tests/demo.sh

bench: $(BUILD)/llc
	$(BUILD)/llc bench

clean:
	rm -rf build build-san

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_SRC:tests/%.c=$(BUILD)/obj/tests/%.d) $(TESTUTIL:.o=.d)
