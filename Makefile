# Pith: the one entry point. `make help` lists the targets.
# Programs are static against musl; sources are found by globbing, so a new
# file in a program's directory is built without touching this file.

.DEFAULT_GOAL := all
SHELL := /bin/bash

B       := build
DEPS    := $(B)/deps/.done
CC      := musl-gcc
HOSTCC  := cc

# -Werror on everything we write; lwIP and BearSSL are built by mk/deps.sh
# with their own flags.
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS  := -std=gnu11 -Os -D_GNU_SOURCE $(WARN) -ffunction-sections -fdata-sections \
           -fno-strict-aliasing -MMD -MP -Ilib -I$(B)/deps/bearssl/include \
           -idirafter $(B)/deps/kernel-headers
LDFLAGS := -static -Wl,--gc-sections -s

LWIP_CFLAGS := -Iinit/lwip -I$(B)/deps/lwip/include
LWIP_LIB    := $(B)/deps/lwip/lib/liblwip.a
CJSON_CFLAGS := -I$(B)/deps/cjson/include
CJSON_LIB    := $(B)/deps/cjson/lib/libcjson.a
BEARSSL_LIB    := $(B)/deps/bearssl/lib/libbearssl.a

LIB_OBJ  := $(patsubst %.c,$(B)/obj/%.o,$(wildcard lib/*.c))
INIT_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard init/*.c))
CLI_OBJ  := $(patsubst %.c,$(B)/obj/%.o,$(wildcard cli/*.c))
# Each directory under services/ with a main.c is one program, build/bin/pith-<dir>.
SERVICES := $(notdir $(patsubst %/main.c,%,$(wildcard services/*/main.c)))
PROGS    := $(B)/bin/pith-init $(B)/bin/pith $(SERVICES:%=$(B)/bin/pith-%)

.PHONY: all deps kernel image run check test bench fuzz clean help

all: $(PROGS)

help:
	@echo 'make          build every program into build/bin/ (static, musl)'
	@echo 'make deps     install Debian packages (as root) and build lwIP, BearSSL'
	@echo 'make kernel   build/kernel/bzImage from linux-source-6.1 + kernel-config/'
	@echo 'make image    build/image/: kernel and initramfs'
	@echo 'make run      boot a 3-node cluster under QEMU (Ctrl-C stops it)'
	@echo 'make check    fast host tests: unit (cmocka)'
	@echo 'make test     everything CI runs: check, fuzz, api, cluster, boot'
	@echo 'make bench    boot-time, size and unit-manager tables, against real peers'

deps:
	@mk/deps.sh
	@touch $(DEPS)

$(DEPS): mk/deps.sh init/lwip/lwipopts.h init/lwip/arch/cc.h init/lwip/sources
	@mk/deps.sh
	@touch $@

$(B)/obj/%.o: %.c | $(DEPS)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(B)/obj/init/%.o: CFLAGS += $(LWIP_CFLAGS) -Iinit
$(B)/obj/cli/%.o: CFLAGS += $(CJSON_CFLAGS)
# The KV client (lib/kvc*.c) reads JSON with cJSON: a program that calls it
# links CJSON_LIB; the others never pull those objects out of libpith.a.
$(B)/obj/lib/kvc%.o: CFLAGS += $(CJSON_CFLAGS)
$(B)/obj/services/%.o: CFLAGS += $(CJSON_CFLAGS)

$(B)/lib/libpith.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	@rm -f $@
	@ar rcs $@ $^

$(B)/bin/pith-init: $(INIT_OBJ) $(B)/lib/libpith.a $(DEPS)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $(INIT_OBJ) $(B)/lib/libpith.a $(LWIP_LIB)

$(B)/bin/pith: $(CLI_OBJ) $(B)/lib/libpith.a $(DEPS)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(B)/lib/libpith.a $(CJSON_LIB) $(BEARSSL_LIB)

define service_rule
$(B)/bin/pith-$(1): $(patsubst %.c,$(B)/obj/%.o,$(wildcard services/$(1)/*.c)) $(B)/lib/libpith.a $(DEPS)
	@mkdir -p $$(@D)
	@echo "  LD      $$@"
	@$(CC) $(LDFLAGS) -o $$@ $(patsubst %.c,$(B)/obj/%.o,$(wildcard services/$(1)/*.c)) \
		$(B)/lib/libpith.a $(CJSON_LIB) $(BEARSSL_LIB)
endef
$(foreach s,$(SERVICES),$(eval $(call service_rule,$(s))))

-include $(wildcard $(B)/obj/*/*.d $(B)/obj/*/*/*.d $(B)/obj/*/*/*/*.d)

# --- kernel and image ---------------------------------------------------------

kernel: | $(DEPS)
	@mk/kernel.sh

image: all kernel
	@image/mkimage.sh

run: image
	@boot/cluster up --nodes 3

# --- tests --------------------------------------------------------------------

UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/test/unit/%,$(wildcard tests/unit/test_*.c))
KVC_SRC    := $(wildcard lib/kvc*.c)
UNIT_SRC   := $(filter-out $(KVC_SRC),$(wildcard lib/*.c)) init/config.c \
              $(wildcard init/journal*.c init/cgroup.c)
UNIT_FLAGS := -std=gnu11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter \
              -fsanitize=address,undefined -fno-omit-frame-pointer -Ilib -Iinit \
              -I$(B)/deps/bearssl/include
BEARSSL_HOST_LIB := $(B)/deps/bearssl/host/libbearssl.a

$(B)/test/unit/%: tests/unit/%.c $(UNIT_SRC) $(filter-out lib/kvc%.h,$(wildcard lib/*.h init/*.h)) | $(DEPS)
	@mkdir -p $(@D)
	@$(HOSTCC) $(UNIT_FLAGS) -o $@ $< $(UNIT_SRC) $(BEARSSL_HOST_LIB) -lcmocka

# The CLI's tests link the CLI but main.c, and cJSON from its source.
CLI_TEST_SRC := $(filter-out cli/main.c,$(wildcard cli/*.c)) $(B)/deps/src/cjson/tree/cJSON.c
$(B)/test/unit/test_cli_%: UNIT_SRC += $(CLI_TEST_SRC)
$(B)/test/unit/test_cli_%: UNIT_FLAGS += -Icli $(CJSON_CFLAGS)
$(patsubst tests/unit/%.c,$(B)/test/unit/%,$(wildcard tests/unit/test_cli_*.c)): \
	$(filter-out cli/main.c,$(wildcard cli/*.c cli/*.h))

# The KV's tests link its parts (Raft, the WAL) from services/kv, all but
# main.c, and cJSON from its source.
# (Listed by name: a pattern test_kv_% would take the client's test_kvc_* too.)
KV_TEST_SRC := $(filter-out services/kv/main.c,$(wildcard services/kv/*.c))
KV_TESTS    := $(patsubst tests/unit/%.c,$(B)/test/unit/%,$(filter-out tests/unit/test_kvc_%,\
               $(wildcard tests/unit/test_kv_*.c)))
$(KV_TESTS): UNIT_SRC += $(KV_TEST_SRC) $(B)/deps/src/cjson/tree/cJSON.c
$(KV_TESTS): UNIT_FLAGS += -Iservices/kv $(CJSON_CFLAGS)
$(KV_TESTS): $(KV_TEST_SRC) $(wildcard services/kv/*.h)

# The KV client's tests (and its scenario driver, which tests/api/test_kvc.py
# runs against pith-kv and etcd) link it with cJSON from source.
$(B)/test/unit/test_kvc_%: UNIT_SRC += $(KVC_SRC) $(B)/deps/src/cjson/tree/cJSON.c
$(B)/test/unit/test_kvc_%: UNIT_FLAGS += $(CJSON_CFLAGS)
$(patsubst tests/unit/%.c,$(B)/test/unit/%,$(wildcard tests/unit/test_kvc_*.c)): $(KVC_SRC) \
	$(wildcard lib/kvc*.h)

KVC_DRIVER := $(B)/test/kvc/kvc-driver
$(KVC_DRIVER): tests/api/kvc_driver.c $(UNIT_SRC) $(KVC_SRC) $(wildcard lib/*.h) | $(DEPS)
	@mkdir -p $(@D)
	@$(HOSTCC) $(UNIT_FLAGS) $(CJSON_CFLAGS) -o $@ $< $(UNIT_SRC) $(KVC_SRC) \
		$(B)/deps/src/cjson/tree/cJSON.c $(BEARSSL_HOST_LIB)

check: $(UNIT_TESTS)
	@tests/run-unit $(UNIT_TESTS)

fuzz: | $(DEPS)
	@tests/fuzz/run

# The boot tier's initramfs: the image's own plus pith-probe (concatenated
# cpio archives are one archive to the kernel).
PROBE_INITRD := $(B)/test/boot/initramfs-test.cpio

$(B)/test/boot/pith-probe: tests/boot/probe.c | $(DEPS)
	@mkdir -p $(@D)
	@$(CC) -static -Os -Wall -Werror -o $@ $<

# busybox gives the test units a shell; the scenario and its units go where
# an operator's would.
BUSYBOX := $(B)/deps/busybox/root/bin/busybox
BUSYBOX_APPLETS := sh cat echo sleep mkdir rm dd grep timeout false true id ls kill
TEST_UNITS := $(wildcard tests/boot/units/*)

$(PROBE_INITRD): $(B)/test/boot/pith-probe $(B)/image/initramfs.cpio tests/boot/scenario.sh $(TEST_UNITS)
	@{ printf 'file /usr/bin/pith-probe %s 0755 0 0\n' $(B)/test/boot/pith-probe; \
	   printf 'file /usr/bin/busybox %s 0755 0 0\n' $(BUSYBOX); \
	   for a in $(BUSYBOX_APPLETS); do printf 'slink /usr/bin/%s busybox 0777 0 0\n' $$a; done; \
	   printf 'dir /usr/lib/pith-test 0755 0 0\n'; \
	   printf 'file /usr/lib/pith-test/scenario.sh tests/boot/scenario.sh 0755 0 0\n'; \
	   for u in $(TEST_UNITS); do printf 'file /etc/pith/units/%s %s 0644 0 0\n' $$(basename $$u) $$u; done; \
	 } >$(B)/test/boot/probe.list
	@build/kernel/gen_init_cpio $(B)/test/boot/probe.list >$(B)/test/boot/probe.cpio
	@cat $(B)/image/initramfs.cpio $(B)/test/boot/probe.cpio >$@

$(B)/image/initramfs.cpio: image

test: check fuzz image
	@$(MAKE) --no-print-directory $(PROBE_INITRD) $(KVC_DRIVER)
	@tests/run-pytest

bench: image
	@bench/boot
	@bench/units
	@bench/control
	@bench/kv

clean:
	rm -rf $(B)/obj $(B)/bin $(B)/lib $(B)/test $(B)/image
