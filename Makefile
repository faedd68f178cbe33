# llc - local learning coefficients of small transformers, in C.
#   make          build build/llc and build/libllc.a
#   make install  llc to $(PREFIX)/bin, the shipped data (configs, corpus,
#                 baselines) to $(PREFIX)/share/llc
#   make check    build and run every test (installs missing Debian packages)
#   make demo     train, estimate and plot a small default run
#   make check SANITIZE=1   the same under AddressSanitizer + UBSan
#   make mpi      build/llc-mpi with Open MPI (installs it): run under mpirun,
#                 rank 0 owns the store, the others compute (llc/MPI.md)

CC      ?= cc
OPT     ?= -O2
# AVX2 and FMA where the build machine has them (make ARCH= for a portable
# binary). FMA is used only where written (MAD8 in core/kernels_impl.h): results
# then differ from a portable build's in the last bits, never with threads.
ARCH    ?= $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && echo -mavx2)$(shell grep -qw fma /proc/cpuinfo 2>/dev/null && echo ' -mfma')
CFLAGS  ?= $(OPT) -g $(ARCH)
WARN    := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wpointer-arith -Wcast-qual \
           -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wundef -Wvla \
           -Wno-unused-parameter
PREFIX  ?= /usr/local
# data is found at run time: $LLC_DATA, <exe>/../share/llc, <exe>/../data
# (the source tree, run from build/), then this compiled-in share dir
CPPFLAGS += -DLLC_SHARE_DIR=\"$(PREFIX)/share/llc\" -Icore -Itasks -Isgld -Illc
LDLIBS  := -lopenblas -lgsl -lsqlite3 -lcjson -lpthread -lm
ifeq ($(SANITIZE),1)
  CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
  BUILD   := build-san
else
  BUILD   := build
endif
ALL_CFLAGS = $(WARN) $(CFLAGS)

# the message layer: a one-rank stub in the library; llc-mpi swaps in the
# MPI one (llc/mpi.c, the only file that includes mpi.h)
LIB_SRC  := $(filter-out llc/mpi.c,$(wildcard core/*.c sgld/*.c llc/*.c tasks/*.c))
CLI_SRC  := $(wildcard cli/*.c)
TEST_SRC := $(wildcard tests/unit/test_*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TESTUTIL := $(BUILD)/obj/tests/unit/testutil.o $(BUILD)/obj/tests/unit/fixture.o
DEPS_OK  := $(BUILD)/.deps-ok

.PHONY: all check demo bench clean deps install fuzz accuracy selfcheck valgrind mpi
.SECONDARY:
all: $(BUILD)/llc
ifeq ($(MPI),1)
all: $(BUILD)/llc-mpi
endif

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

SHARE_FILES := $(wildcard data/configs/*.json data/configs/bench/*.json data/corpus/*.txt data/corpus/SOURCES.md \
                 data/baselines/*.json)
install: $(BUILD)/llc
	install -D -m 755 $(BUILD)/llc $(DESTDIR)$(PREFIX)/bin/llc
	for f in $(SHARE_FILES:data/%=%); do install -D -m 644 data/$$f $(DESTDIR)$(PREFIX)/share/llc/$$f || exit 1; done

# the tests read the source tree's data/ wherever they run
$(BUILD)/obj/tests/%.o: CPPFLAGS += -DLLC_DATA_DIR=\"$(CURDIR)/data\"
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TESTUTIL) $(BUILD)/libllc.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# make mpi (or make MPI=1): $(BUILD)/llc-mpi, the program on Open MPI
# (llc/MPI.md): the plain build's objects with llc/mpi.c for the stub,
# linked by mpicc, so it costs one compile beside the plain build
mpi: $(BUILD)/llc-mpi
MPI_DEPS_OK := $(BUILD)/.deps-mpi-ok
$(MPI_DEPS_OK): | $(DEPS_OK)
	@LLC_DEPS=mpi sh .ci/install-deps
	@touch $@
$(BUILD)/obj-mpi/llc/mpi.o: llc/mpi.c | $(MPI_DEPS_OK)
	@mkdir -p $(dir $@)
	mpicc $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/llc-mpi: $(CLI_OBJ) $(filter-out %/mpi_none.o,$(LIB_OBJ)) $(BUILD)/obj-mpi/llc/mpi.o
	mpicc $(LDFLAGS) -o $@ $^ $(LDLIBS)

check: $(TEST_BIN) $(BUILD)/llc $(BUILD)/llc-mpi $(BUILD)/tests/store_rows
	@LLC_DEPS=check sh .ci/install-deps
	@BUILD=$(BUILD) LLC=$(BUILD)/llc LLC_MPI=$(BUILD)/llc-mpi STORE_ROWS=$(BUILD)/tests/store_rows \
	  sh tests/run.sh $(TEST_BIN)

# every row of a store as text, for comparing stores (tests/cli/cli_mpi.sh)
$(BUILD)/tests/store_rows: $(BUILD)/obj/tests/store_rows.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

demo: $(BUILD)/llc
	@LLC=$(BUILD)/llc sh tests/demo.sh

# make accuracy: the slow rung of the accuracy ladder, DLN (100,100,100)
# with default settings (about 20-30 minutes on 2 cores; not in make check),
# after the slow minibatch cases (tests/unit/test_minibatch.c, LLC_MINIBATCH_ALL=1),
# then make selfcheck
$(BUILD)/tests/unit/slow_dln100: $(BUILD)/obj/tests/unit/slow_dln100.o $(TESTUTIL) $(BUILD)/libllc.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
accuracy: $(BUILD)/tests/unit/slow_dln100 $(BUILD)/tests/unit/test_minibatch $(BUILD)/llc
	LLC_MINIBATCH_ALL=1 $(BUILD)/tests/unit/test_minibatch
	$(BUILD)/tests/unit/slow_dln100 2
	@LLC=$(BUILD)/llc sh tests/accuracy/selfcheck.sh

# make selfcheck: the minibatch estimates' self-consistency on the shipped
# sort and icl runs (llc estimate --check-bias at the first, a middle and the
# last checkpoint, the model and two heads; hours on 2 cores). The store
# build/selfcheck/full.db keeps what is done; SELFCHECK_OPTS adds estimate
# options, SELFCHECK_SCALE=tiny runs the same commands in a minute.
selfcheck: $(BUILD)/llc
	@LLC=$(BUILD)/llc sh tests/accuracy/selfcheck.sh

# make valgrind: the CLI tests with llc under valgrind memcheck (slow)
valgrind: $(BUILD)/llc
	LLC=$(BUILD)/llc sh tests/valgrind.sh

BENCH_ROUNDS ?= 3
bench: $(BUILD)/llc
	@LLC_DEPS=bench sh .ci/install-deps
	$(BUILD)/llc bench --rounds $(BENCH_ROUNDS) --json bench.json

# make fuzz: libFuzzer (clang) on the config/JSON parsers and the CLI argument
# parser, FUZZ_SECONDS each (default 60). Needs clang (apt-get install clang).
FUZZ_SECONDS ?= 60
FUZZ_SRC := $(LIB_SRC) cli/util.c cli/cmd_train.c cli/mem.c
fuzz: $(DEPS_OK)
	@command -v clang >/dev/null || { echo "make fuzz needs clang: apt-get install clang"; exit 2; }
	@mkdir -p build-fuzz
	clang -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS) -std=c11 -D_GNU_SOURCE -Icli \
	  tests/fuzz/fuzz_config.c $(LIB_SRC) -o build-fuzz/fuzz_config $(LDLIBS)
	clang -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS) -std=c11 -D_GNU_SOURCE -Icli \
	  tests/fuzz/fuzz_args.c $(FUZZ_SRC) -o build-fuzz/fuzz_args $(LDLIBS)
	mkdir -p build-fuzz/c1 build-fuzz/c2
	build-fuzz/fuzz_config -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build-fuzz/c1 tests/fuzz/corpus_config
	build-fuzz/fuzz_args -max_total_time=$(FUZZ_SECONDS) -max_len=1024 build-fuzz/c2 tests/fuzz/corpus_args

clean:
	rm -rf build build-san build-fuzz

-include $(BUILD)/obj-mpi/llc/mpi.d $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_SRC:tests/%.c=$(BUILD)/obj/tests/%.d) $(TESTUTIL:.o=.d)

# make papers: the four studies the tool was made for, each end to end in a
# scratch store build/papers/NAME.db, then `llc paper NAME` writes
# build/papers/NAME.html and NAME.md with a verdict per claim
# (llc/PAPERS_REPRO.md). PAPER_SCALE=tiny runs each in about a minute.
PAPERS := sort text icl modadd
.PHONY: papers $(PAPERS:%=paper-%)
papers: $(PAPERS:%=paper-%)
$(PAPERS:%=paper-%): paper-%: $(BUILD)/llc
	@LLC=$(BUILD)/llc PAPER_OUT=$(BUILD)/papers sh tests/papers/paper_$*.sh
