# Makefile — builds, runs and tests the special-hardship assistance system.
#
# Targets:
#   make              build every program into bin/
#   make run          start the local stack, feed the samples, serve until Ctrl-C
#   make test         deps, build, private stacks; unit, deploy, integration, secure, web console, faults
#   make test-gateway the web console's API and browser tests (own private stack)
#   make test-secure  the security tests on a CURVE stack
#   make test-sanitize  = make test SANITIZE=address,undefined (what CI runs after make test)
#   make test-faults  crash, outage and stall drills against a private stack (make test runs it)
#   make test-deploy  the image, docker-compose.yml and ops/k8s checked as files (seconds; no stack)
#   make bench        pipeline throughput/latency next to a raw-insert baseline (own stack)
#   make bench-disaster  one disaster trigger over 100,000 households, timed
#   make bench-import  1,000,000 rows of a department comparison file through aidctl import
#   make bench-payroll 200,000 active entitlements: one month's payroll run and bank file, timed
#   make bench-floor   the rows of make bench's reports written bare (pgbench): the data model's ceiling
#   make up / down    start (idempotent) / stop the local stack under var/
#   make up-ha / down-ha  the local HA stack under var/ha (ops/ha.sh; AID_HA=1 make up too):
#                     etcd x3, Postgres x2 under Patroni, pgBackRest, Redis + replica + Sentinel x3
#   make test-ha      the HA drills (failovers, node loss, PITR, etcd quorum) on a private
#                     HA stack (tests/ha/run.sh); CI runs it once, not in the sanitizer pass
#   make deps         install missing Debian packages (apt-get; sudo when not root)
#   make clean        remove build output and var/
# Truncating snprintf is deliberate here (paths, messages), hence -Wno-format-truncation.
# Options:
#   V=1                         show the commands
#   SANITIZE=address,undefined  build with sanitizers (objects kept apart)
#   AID_VAR=dir                 where the local stack lives (default var)
#   -include config.mk          local overrides, never committed

-include config.mk

CC ?= cc
SANITIZE ?=
# the test scripts see it (tests marked no_c are skipped in a sanitizer pass)
export AID_SANITIZE := $(SANITIZE)
AID_VAR ?= var
PYTHON := /usr/bin/python3

comma := ,
VARIANT := $(if $(SANITIZE),san-$(subst $(comma),-,$(SANITIZE)),rel)
BUILD := build/$(VARIANT)

CFLAGS_BASE := -std=c11 -Wall -Wextra -Werror -Wno-format-truncation -g -O2 -D_GNU_SOURCE -MMD -MP \
	-Icommon -Iproto -Iservices/policy -Iservices/department -Iservices/report -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
ifneq ($(SANITIZE),)
CFLAGS_BASE += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all -O1
LDFLAGS += -fsanitize=$(SANITIZE)
endif
CFLAGS_ALL = $(CFLAGS_BASE) $(CFLAGS)
LIBS := -lzmq -lhiredis -lmsgpackc -lpq -lmicrohttpd -lsodium

ifeq ($(V),1)
Q :=
else
Q := @
endif

DEPARTMENTS := civil tempaid medical education housing employment relief social care
# departments: the departments host (one process deciding for the built-in departments)
SERVICES := bus intake eligibility triggers supervision decisions benefits casework $(DEPARTMENTS) departments
PROGRAMS := $(addprefix bin/,$(SERVICES) gateway aidctl)

COMMON_SRC := $(wildcard common/*.c)
PROTO_SRC := $(wildcard proto/*.c)
POLICY_SRC := $(wildcard services/policy/*.c)
DEPT_SRC := $(wildcard services/department/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
LIVE_SRC := $(wildcard tests/live/test_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
LIB_COMMON := $(BUILD)/libaid.a
LIB_PROTO := $(BUILD)/libproto.a
LIB_POLICY := $(BUILD)/libpolicy.a
LIB_DEPT := $(BUILD)/libdept.a
CORE_LIBS := $(LIB_PROTO) $(LIB_COMMON)
# common/jsonmp.c is the one libaid member that calls jansson: only the programs
# that use it (gateway, aidctl, unit tests) link -ljansson; a static archive gives
# the others none of it.
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAYS := $(addprefix $(BUILD)/fuzz/replay_,$(FUZZ_TARGETS))
FUZZ_SECONDS ?= 600
LIVE_TESTS := $(patsubst tests/live/%.c,$(BUILD)/live/%,$(LIVE_SRC))

# Binaries in bin/ are relinked when the variant (sanitizers or not) changes.
VARIANT_STAMP := build/variant
$(shell mkdir -p build; [ "$$(cat $(VARIANT_STAMP) 2>/dev/null)" = "$(VARIANT)" ] || echo "$(VARIANT)" > $(VARIANT_STAMP))

.PHONY: all deps up down run test unit integration clean status test-gateway test-secure test-sanitize fuzz fuzz-replay test-deploy
all: $(PROGRAMS)
# the benchmark tools (ops/bench): built with everything, so they always compile
BENCH_PROGRAMS := bin/bench bin/bench-disaster bin/bench-baseline bin/bench-import
BENCH_COMMON := $(call obj,ops/bench/submit.c ops/bench/track.c ops/bench/rss.c ops/bench/household.c)
all: $(BENCH_PROGRAMS)
.PHONY: bench bench-disaster bench-import bench-payroll bench-floor test-faults

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@

# $(call objs,name,sources): the objects of sources, and $(BUILD)/objs/<name>.objs, their
# list, rewritten only when it changes: a program or library whose .c file was added or
# deleted is relinked (a stale bin/intake kept serving operations moved away from it).
objs = $(call obj,$(2)) $(shell mkdir -p $(BUILD)/objs; f=$(BUILD)/objs/$(1).objs; \
	l='$(sort $(call obj,$(2)))'; [ -f $$f ] && [ "$$(cat $$f)" = "$$l" ] || echo "$$l" >$$f; echo $$f)

$(LIB_COMMON): $(call objs,libaid,$(COMMON_SRC))
$(LIB_PROTO): $(call objs,libproto,$(PROTO_SRC))
$(LIB_POLICY): $(call objs,libpolicy,$(POLICY_SRC))
$(LIB_DEPT): $(call objs,libdept,$(DEPT_SRC))
$(BUILD)/%.a:
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $(filter %.o,$^)

define link
	@mkdir -p bin
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter-out $(VARIANT_STAMP) %.objs,$^) $(2)
endef

bin/bus: $(call objs,bus,$(wildcard services/bus/*.c)) $(CORE_LIBS) $(VARIANT_STAMP)
	$(call link,$@,$(LIBS))
# services/report: the report path (report.submit's group commit, the filer,
# case reads, the system's own reports), linked into intake; the trigger
# worker, trigger.* and visit.record file theirs with the same filer (synth.c).
REPORT_FILER := $(call obj,services/report/report_store.c services/report/synth.c)
# submit.c and synth.c plug into the front door (services/intake/door.h, ops.h)
$(BUILD)/services/intake/%.o $(BUILD)/services/report/%.o: CFLAGS_ALL += -Iservices/intake
bin/intake: $(call objs,intake,$(wildcard services/intake/*.c services/report/*.c)) $(CORE_LIBS) $(VARIANT_STAMP)
	$(call link,$@,$(LIBS))
bin/supervision: $(call objs,supervision,$(wildcard services/supervision/*.c)) $(CORE_LIBS) $(VARIANT_STAMP)
	$(call link,$@,$(LIBS))
bin/decisions: $(call objs,decisions,$(wildcard services/decisions/*.c)) $(LIB_DEPT) $(CORE_LIBS) $(VARIANT_STAMP)
	$(call link,$@,$(LIBS))
bin/eligibility: $(call objs,eligibility,$(wildcard services/eligibility/*.c)) $(LIB_DEPT) $(LIB_POLICY) $(CORE_LIBS) $(VARIANT_STAMP)
	$(call link,$@,$(LIBS))
bin/triggers: $(call objs,triggers,$(wildcard services/triggers/*.c)) $(REPORT_FILER) $(LIB_DEPT) $(LIB_POLICY) $(CORE_LIBS) $(VARIANT_STAMP)
	$(call link,$@,$(LIBS))
$(addprefix bin/,$(filter-out care,$(DEPARTMENTS)) departments): bin/%: $(BUILD)/services/%/main.o $(LIB_DEPT) $(LIB_POLICY) $(CORE_LIBS) $(VARIANT_STAMP)
	$(call link,$@,$(LIBS))
# care also owns operations behind the front door (op_*.c)
bin/care: $(call objs,care,$(wildcard services/care/*.c)) $(REPORT_FILER) $(LIB_DEPT) $(LIB_POLICY) $(CORE_LIBS) $(VARIANT_STAMP)
	$(call link,$@,$(LIBS))
bin/benefits: $(call objs,benefits,$(wildcard services/benefits/*.c)) $(CORE_LIBS) $(VARIANT_STAMP)
	$(call link,$@,$(LIBS))
bin/casework: $(call objs,casework,$(wildcard services/casework/*.c)) $(LIB_DEPT) $(LIB_POLICY) $(CORE_LIBS) $(VARIANT_STAMP)
	$(call link,$@,$(LIBS) -ljansson)
bin/aidctl: $(call objs,aidctl,$(wildcard ops/aidctl/*.c)) $(CORE_LIBS) $(VARIANT_STAMP)
	$(call link,$@,$(LIBS) -ljansson -lsodium)
bin/gateway: $(call objs,gateway,$(wildcard services/gateway/*.c)) $(CORE_LIBS) $(VARIANT_STAMP)
	$(call link,$@,$(LIBS) -lmicrohttpd -ljansson -lsodium -lpthread)
bin/bench: $(call obj,ops/bench/bench.c) $(BENCH_COMMON) $(CORE_LIBS) $(VARIANT_STAMP)
	$(call link,$@,$(LIBS) -lpthread)
bin/bench-disaster: $(call obj,ops/bench/disaster.c) $(BENCH_COMMON) $(CORE_LIBS) $(VARIANT_STAMP)
	$(call link,$@,$(LIBS) -lpthread)
bin/bench-import: $(call obj,ops/bench/import.c) $(BENCH_COMMON) $(CORE_LIBS) $(VARIANT_STAMP)
	$(call link,$@,$(LIBS) -lpthread)
bin/bench-baseline: $(call obj,ops/bench/baseline.c) $(VARIANT_STAMP)
	$(call link,$@,-lpq -lpthread)

$(BUILD)/tests/%: tests/unit/%.c $(LIB_DEPT) $(LIB_POLICY) $(CORE_LIBS) $(VARIANT_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST-CC $<")
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LIBS) -lcmocka -ljansson

# the front door's forwarding, tested against common/owner.c (no stack)
$(BUILD)/tests/test_forward: tests/unit/test_forward.c services/intake/forward.c $(CORE_LIBS) $(LIB_PROTO) $(VARIANT_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST-CC $<")
	$(Q)$(CC) $(CFLAGS_ALL) -Iservices/intake $(LDFLAGS) -o $@ $(filter %.c,$^) $(CORE_LIBS) $(LIB_PROTO) $(LIBS) -lcmocka

# the handlers' context and authorization checks (common/opctx.c calls into libproto)
$(BUILD)/tests/test_opctx: tests/unit/test_opctx.c $(CORE_LIBS) $(VARIANT_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST-CC $<")
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $(filter %.c,$^) -Wl,--start-group $(CORE_LIBS) -Wl,--end-group $(LIBS) -lcmocka

$(BUILD)/live/%: tests/live/%.c $(CORE_LIBS) $(VARIANT_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST-CC $<")
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LIBS) -lcmocka

# Fuzz targets: replayed over their corpus in `make unit` (no engine needed);
# `make fuzz` runs each under libFuzzer (clang) for FUZZ_SECONDS.
$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(CORE_LIBS) $(VARIANT_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ-CC $<")
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LIBS)

fuzz-replay: $(FUZZ_REPLAYS)
	$(Q)for t in $(FUZZ_TARGETS); do $(BUILD)/fuzz/replay_$$t tests/fuzz/corpus/$$t || exit 1; done

# the pure modules a validator needs: no sockets, no database
FUZZ_SRC = common/mp.c common/schema.c common/date.c common/idcard.c common/log.c common/config.c \
	$(wildcard proto/*.c)
FUZZ_CFLAGS := -std=c11 -g -O1 -D_GNU_SOURCE -Icommon -Iproto -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
fuzz:
	$(Q)mkdir -p build/libfuzzer $(AID_VAR)/fuzz
	$(Q)for t in $(FUZZ_TARGETS); do \
	    clang $(FUZZ_CFLAGS) -o build/libfuzzer/fuzz_$$t tests/fuzz/fuzz_$$t.c $(FUZZ_SRC) -lmsgpackc || exit 1; \
	    mkdir -p $(AID_VAR)/fuzz/$$t; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	    build/libfuzzer/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	        -artifact_prefix=$(AID_VAR)/fuzz/$$t/ $(AID_VAR)/fuzz/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

deps:
	$(Q)ops/deps.sh

ifeq ($(AID_HA),1)
up: up-ha
down: down-ha
else
up: all
	$(Q)AID_VAR=$(AID_VAR) ops/stack.sh up

down:
	$(Q)AID_VAR=$(AID_VAR) ops/stack.sh down
endif

# The HA stack (ops/ha.sh): its packages are installed here, not by `make deps`.
.PHONY: up-ha down-ha status-ha test-ha
up-ha: all
	$(Q)ops/deps.sh ha
	$(Q)AID_VAR=$(AID_VAR)/ha ops/ha.sh up

down-ha:
	$(Q)AID_VAR=$(AID_VAR)/ha ops/ha.sh down

status-ha:
	$(Q)AID_VAR=$(AID_VAR)/ha ops/ha.sh status

# The HA drills against a private HA stack of their own, stopped whatever happens.
test-ha: all
	$(Q)ops/deps.sh ha
	$(Q)AID_VAR=$(AID_VAR)/test-ha tests/ha/run.sh

status:
	$(Q)AID_VAR=$(AID_VAR) ops/stack.sh status

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)AID_VAR=$(AID_VAR) ops/run.sh

unit: $(UNIT_TESTS) $(FUZZ_REPLAYS)
	$(Q)ops/run-unit.sh $(UNIT_TESTS)
	$(Q)$(MAKE) --no-print-directory fuzz-replay

# The web console: its API tests and the end-to-end test in headless Chromium,
# against a private stack of their own (tests/gateway/run.sh).
test-gateway: all
	$(Q)AID_VAR=$(AID_VAR)/gwtest ops/timed.sh test-gateway tests/gateway/run.sh

# Benchmarks: each starts its own fresh stack (var/bench) and stops it; see ops/bench/bench.sh.
bench: all
	$(Q)AID_BENCH_VAR=$(AID_VAR)/bench ops/bench/bench.sh
bench-disaster: all
	$(Q)AID_BENCH_VAR=$(AID_VAR)/bench ops/bench/bench.sh disaster
bench-import: all
	$(Q)AID_BENCH_VAR=$(AID_VAR)/bench ops/bench/bench.sh import
bench-payroll: all
	$(Q)AID_BENCH_VAR=$(AID_VAR)/bench ops/bench/bench.sh payroll
bench-floor: all
	$(Q)AID_BENCH_VAR=$(AID_VAR)/bench ops/bench/bench.sh floor

# Fault drills (kill -9, Redis and Postgres outages, a stalled department) against a
# private stack of their own (tests/faults/run.sh).
test-faults: all
	$(Q)AID_VAR=$(AID_VAR)/test-faults tests/faults/run.sh

integration: all $(LIVE_TESTS)
	$(Q)AID_VAR=$(AID_VAR)/test ops/timed.sh integration ops/run-integration.sh $(LIVE_TESTS)

# Secure mode (CURVE + ZAP allow-list + rate limits) on a stack of its own:
# the security tests and a full fan-out over CURVE, then the log check.
test-secure: all $(LIVE_TESTS)
	$(Q)AID_SECURE=1 AID_VAR=$(AID_VAR)/test-secure AID_PG_PORT=25542 AID_REDIS_PORT=26489 \
	  AID_INTAKE_PORT=5711 AID_BUS_SUB_PORT=5712 AID_BUS_PUB_PORT=5713 \
	  AID_INTAKE_REPLICA_PORT=5731 AID_METRICS_PORT=9701 AID_GATEWAY_PORT=18280 \
	  AID_TESTS="tests/integration/test_95_secure.py tests/integration/test_04_fanout.py tests/integration/test_99_logs.py" \
	  ops/timed.sh test-secure ops/run-integration.sh

# The deployment as shipped: ops/Dockerfile, docker-compose.yml (docker-compose config),
# ops/k8s rendered and checked (tests/deploy; no cluster, no Docker engine).
test-deploy:
	$(Q)$(PYTHON) -m pytest -q -p no:cacheprovider tests/deploy

# Every suite of `make test` again with AddressSanitizer and UBSan in every
# program (objects under build/san-…/): `make test SANITIZE=address,undefined`.
# Any sanitizer report in a service log fails its suite (ops/sancheck.sh).
test-sanitize:
	$(Q)$(MAKE) --no-print-directory test SANITIZE=address,undefined

# The integration, secure-mode and console suites run side by side (each on a stack
# of its own, its own ports; their outputs are printed whole, one after the other);
# the fault drills, which time outages, run alone after them. The sanitizer pass
# leaves out what runs no C program (test-deploy, tests marked no_c).
test: deps
	$(Q)ops/timed.sh build+unit $(MAKE) --no-print-directory all unit
	$(Q)$(if $(SANITIZE),,ops/timed.sh test-deploy $(MAKE) --no-print-directory test-deploy)
	$(Q)ops/timed.sh integration+secure+gateway $(MAKE) --no-print-directory -j3 --output-sync=target \
	  integration test-secure test-gateway
	$(Q)ops/timed.sh test-faults $(MAKE) --no-print-directory test-faults

clean:
	-$(Q)[ -x ops/stack.sh ] && AID_VAR=$(AID_VAR) ops/stack.sh down >/dev/null 2>&1; true
	-$(Q)[ -x ops/stack.sh ] && AID_VAR=$(AID_VAR)/test ops/stack.sh down >/dev/null 2>&1; true
	-$(Q)for v in bench test-faults; do [ -x ops/stack.sh ] && AID_VAR=$(AID_VAR)/$$v ops/stack.sh down >/dev/null 2>&1; done; true
	-$(Q)for v in ha test-ha; do [ -d $(AID_VAR)/$$v ] && AID_VAR=$(AID_VAR)/$$v ops/ha.sh down >/dev/null 2>&1; done; true
	rm -rf build bin $(AID_VAR)

-include $(shell find build -name '*.d' 2>/dev/null)
