# Containers from scratch, in C.  `make help` lists the targets.

STEPS := step1-exec step2-uts step3-pid step4-chroot step5-proc step6-mounts step7-cgroups
NUMS := 1 2 3 4 5 6 7
step_dir = $(filter step$(1)-%,$(STEPS))

ROOTFS_DIR := $(CURDIR)/rootfs
ROOTFS_MARK := $(ROOTFS_DIR)/container-rootfs
HELPERS := forkloop memhog cpuburn keyring chroot-escape
HELPER_BINS := $(HELPERS:%=build/helpers/%)
ROOTFS_HELPERS := $(HELPERS:%=$(ROOTFS_DIR)/usr/local/bin/%)

# The exercises beyond step 7 (TUTORIAL.md, "Exercises"): each a
# reference solution kept as a patch against step7-cgroups/main.c.
EXERCISES := pivot-root userns privileges netns
EXERCISE_DIR := build/exercises

STEP ?= 7
CMD ?= /bin/sh

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra
# Warnings are errors in CI and `make lint` (WERROR=1), not in a plain
# `make`: a learner's newer compiler may warn where ours did not.
ifeq ($(WERROR),1)
CFLAGS += -Werror
endif
CPPFLAGS += -Icommon -DDEFAULT_ROOTFS='"$(ROOTFS_DIR)"'
# Linked statically, a container program starts without the dynamic
# loader, which costs more than a step's namespace (`make bench`), and
# needs nothing from the host but the kernel.  LDFLAGS= links it
# dynamically where there is no static C library (glibc-static).
LDFLAGS ?= -static
# The step programs' compiler: musl's (Debian: musl-tools) if installed,
# else $(CC).  Both work alike; musl starts faster.  At start-up, glibc
# asks the CPU about its caches and features with some 70 CPUID
# instructions, and in a virtual machine each one traps to the
# hypervisor: 0.25 ms a start on the VM of tests/bench/README.md, more
# than any namespace costs.  musl asks nothing.  CONTAINER_CC=cc (or any
# CC=) overrides it.  The checkers use $(CC): sanitizers and valgrind
# need glibc.
ifeq ($(origin CC),default)
MUSL_GCC := $(shell command -v musl-gcc 2>/dev/null)
endif
CONTAINER_CC ?= $(or $(MUSL_GCC),$(CC))
# Debian's musl-gcc sees musl's headers only: the kernel's, which an
# exercise includes (<linux/seccomp.h>), are linux-libc-dev's.  Searched
# after musl's own; for gcc, they are in its path already.
ifneq ($(MUSL_GCC),)
ifeq ($(CONTAINER_CC),$(MUSL_GCC))
CPPFLAGS += -idirafter /usr/include/$(shell $(CC) -print-multiarch) -idirafter /usr/include
endif
endif
# The programs are rebuilt when the compiler or a flag changes.
BUILD_FLAGS := build/flags

.PHONY: FORCE all help rootfs test test-vm test-fresh run bench clean distclean test-deps test-env \
	doctor cgroup-setup cgroup-ready $(NUMS:%=step%) $(NUMS:%=test-step%) $(NUMS:%=diff-step%) \
	$(NUMS:%=trace-step%) test-mutants clean-cgroups lint check-asan check-valgrind \
	test-exercises $(EXERCISES:%=test-exercise-%) $(EXERCISES:%=exercise-%)

all: $(STEPS:%=%/container)

help:
	@echo 'make              build every step: stepN-NAME/container'
	@echo 'make stepN        build one step (N = 1..7)'
	@echo 'make rootfs       (re)build rootfs/ from busybox-static;'
	@echo '                  TARBALL=x.tar[.gz] builds it from a tarball instead'
	@echo 'make run          a shell in the container, as root (STEP=$(STEP) CMD=$(CMD))'
	@echo 'make test         every step'"'"'s tests, as root'
	@echo 'make test-stepN   step N'"'"'s tests; BIN=path/to/container tests another program'
	@echo 'make test-mutants prove the tests catch each mistake in tests/mutants/list'
	@echo 'make test-vm      every step'"'"'s tests in a QEMU VM with cgroup v2 and a shared /,'
	@echo '                  as on systemd hosts (three times: from the root cgroup, from a'
	@echo '                  service, in a Docker-like cgroup namespace)'
	@echo 'make test-fresh   the README'"'"'s two commands on a fresh minimal Debian (debootstrap'
	@echo '                  minbase under build/fresh/, only make, gcc, sudo), cloned in /root'
	@echo 'make test-exercise-NAME'
	@echo '                  an exercise'"'"'s tests and step 7'"'"'s (NAME: $(EXERCISES));'
	@echo '                  BIN=path/to/container tests yours, else the reference solution'
	@echo 'make exercise-NAME  build the reference solution: $(EXERCISE_DIR)/NAME/container'
	@echo 'make test-exercises prove each exercise'"'"'s tests: they pass with its solution,'
	@echo '                  fail for step 7, and step 7'"'"'s tests still pass'
	@echo 'make diff-stepN   what step N adds: the diff from step N-1 (N = 2..7)'
	@echo 'make trace-stepN  the system calls that build step N'"'"'s container (strace),'
	@echo '                  and what step N adds to step N-1'"'"'s; as root'
	@echo 'make doctor       check this machine can run the lesson'
	@echo 'make clean-cgroups  remove the cgroups of containers killed with SIGKILL, as root'
	@echo 'make cgroup-setup in a Docker or Podman container on cgroup v2: let step 7'
	@echo '                  make cgroups (make test and make run do it first)'
	@echo 'make lint         gcc -fanalyzer, cppcheck, clang-format and shellcheck on every file'
	@echo 'make check-asan   every step'"'"'s tests against ASan+UBSan builds (build/asan/), as root'
	@echo 'make check-valgrind'
	@echo '                  each step'"'"'s program under valgrind: no memory error, no leak; as root'
	@echo 'make bench        time a container start, step by step, next to chroot,'
	@echo '                  unshare, crun and runc, as root (RUNS=500; output: build/bench/)'
	@echo 'make clean        remove the built programs; distclean also removes rootfs/'

%/container: %/main.c common/container.c common/container.h $(BUILD_FLAGS)
	$(CONTAINER_CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $*/main.c common/container.c

# Rewritten only when the command line above changes.
$(BUILD_FLAGS): FORCE
	@mkdir -p $(@D)
	@printf '%s\n' "$$FLAGS" | cmp -s - $@ || printf '%s\n' "$$FLAGS" >$@
$(BUILD_FLAGS): export FLAGS = $(CONTAINER_CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS)
FORCE:

$(foreach n,$(NUMS),$(eval step$(n): $(call step_dir,$(n))/container))

# Explicit `make rootfs` always rebuilds; the targets that need a root
# filesystem build it only when it is missing.
rootfs:
	@$(if $(TARBALL),,common/require-packages.sh busybox-static)
	common/mkrootfs.sh $(ROOTFS_DIR) $(TARBALL)

$(ROOTFS_MARK):
	@common/require-packages.sh busybox-static
	common/mkrootfs.sh $(ROOTFS_DIR)

# Small static programs the tests run inside the container.
.SECONDARY: $(HELPER_BINS)
build/helpers/%: tests/helpers/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -o $@ $<

$(ROOTFS_DIR)/usr/local/bin/%: build/helpers/% | $(ROOTFS_MARK)
	install -D -m 0755 $< $@

# What the tests need besides the programs under test: bats with its
# assertion libraries, ps (procps: a minimal Debian has no ps), strace,
# the root filesystem and the helper programs.
TEST_PACKAGES := bats bats-assert bats-support procps strace
test-env: $(ROOTFS_MARK) $(ROOTFS_HELPERS)
	@common/require-packages.sh $(TEST_PACKAGES)

# The tutorial's transcripts run the exercises' solutions too.
test-deps: all test-env $(EXERCISES:%=$(EXERCISE_DIR)/%/container)

# TESTS: the files to run (tests/vm/init runs the VM's list this way).
TESTS ?= tests/step*.bats tests/rootfs.bats tests/hardening.bats tests/trace.bats tests/tutorial.bats
test: test-deps cgroup-ready
	@tests/run $(TESTS)

# The containers' tests in a VM booting Debian's kernel under QEMU: pure
# cgroup v2 and a shared /, whatever this host has.  No KVM needed
# (VM_KVM=1 uses it); the kernel is downloaded once into build/vm/.
# Under emulation a test takes ten times as long, so the VMs run the
# tests whose outcome the cgroup layout or mount propagation can change:
# step 6's and step 7's (whose "so far" tests check steps 1 to 5 again),
# hardening, trace, and the exercises (built on step 7; pivot_root meets
# a really shared / there).  Steps 1 to 5 make no cgroup, and leave
# propagation alone.  VM_TESTS='tests/*.bats' runs everything (an hour).
VM_TESTS ?= tests/step6-mounts.bats tests/step7-cgroups.bats tests/hardening.bats tests/trace.bats \
	$(EXERCISES:%=tests/exercise-%.bats)
test-vm: test-deps
	@tests/vm/run $(VM_TESTS)

# With BIN (a learner's program), only what the tests need is built, and
# the program is given this repository's root filesystem in ROOTFS.
$(foreach n,$(NUMS),$(eval test-step$(n): test-env cgroup-ready $$(if $$(BIN),,$(call step_dir,$(n))/container) ; \
	@$$(if $$(BIN),BIN="$$(abspath $$(BIN))" ROOTFS="$$(or $$(ROOTFS),$(ROOTFS_DIR))") \
		tests/run tests/$(call step_dir,$(n)).bats))

# An exercise's reference solution: step 7 with its patch applied, in a
# scratch copy, built like the steps.
$(EXERCISE_DIR)/%/main.c: step7-cgroups/main.c tests/exercises/%.patch
	@common/require-packages.sh patch
	@mkdir -p $(@D)
	patch -s --no-backup-if-mismatch -o $@ step7-cgroups/main.c tests/exercises/$*.patch
$(EXERCISE_DIR)/%/container: $(EXERCISE_DIR)/%/main.c common/container.c common/container.h $(BUILD_FLAGS)
	$(CONTAINER_CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< common/container.c
.SECONDARY: $(EXERCISES:%=$(EXERCISE_DIR)/%/main.c)

$(foreach e,$(EXERCISES),$(eval exercise-$(e): $(EXERCISE_DIR)/$(e)/container))

# With BIN (a learner's program), only what the tests need is built.
# Step 7's tests run too: an exercise adds to step 7, and keeps it.
$(foreach e,$(EXERCISES),$(eval test-exercise-$(e): test-env cgroup-ready \
	$$(if $$(BIN),,$(EXERCISE_DIR)/$(e)/container) ; \
	@BIN="$$(abspath $$(or $$(BIN),$(EXERCISE_DIR)/$(e)/container))" \
		ROOTFS="$$(or $$(ROOTFS),$(ROOTFS_DIR))" \
		tests/run tests/exercise-$(e).bats tests/step7-cgroups.bats))

test-exercises: test-env cgroup-ready step7-cgroups/container \
	$(EXERCISES:%=$(EXERCISE_DIR)/%/container)
	@ROOTFS='$(ROOTFS_DIR)' tests/exercises/run $(EXERCISES)

# Each mutant is a copy of the programs with one mistake in it, built
# with the same compiler and flags as the programs themselves.
test-mutants: test-env cgroup-ready
	@CC='$(CONTAINER_CC)' CFLAGS='$(CFLAGS)' LDFLAGS='$(LDFLAGS)' ROOTFS='$(ROOTFS_DIR)' \
		tests/mutants/run $(MUTANTS)

# The README's two commands, as a root user runs them on a fresh minimal
# Debian with only make, gcc and sudo installed, in a clone of HEAD at
# /root/project (tests/fresh/run).  The bootstrapped Debian is cached
# in build/fresh/base.tar.
test-fresh:
	@tests/fresh/run

# diff exits 1 when the files differ, which is the point here.
$(foreach n,$(wordlist 2,7,$(NUMS)),$(eval diff-step$(n): ; \
	@diff -u --color=auto $(call step_dir,$(shell echo $$(($(n)-1))))/main.c \
		$(call step_dir,$(n))/main.c || test $$$$? -eq 1))

# Step N's container under strace: the calls the lessons teach, and
# what step N changes in step N-1's list (common/trace.sh).
$(foreach n,$(NUMS),$(eval trace-step$(n): $(call step_dir,$(n))/container \
	$(addsuffix /container,$(call step_dir,$(word $(n),0 $(NUMS)))) $(ROOTFS_MARK) ; \
	@common/require-packages.sh strace && common/trace.sh $(n)))

doctor:
	@CONTAINER_CC='$(CONTAINER_CC)' common/doctor.sh $(CURDIR)

# What step 7 cannot remove: the cgroup of a container whose program was
# killed with SIGKILL (TUTORIAL, step 7).
clean-cgroups:
	@common/clean-cgroups.sh

# In a Docker or Podman container on a cgroup v2 host, the container's
# processes sit in the root of its cgroup namespace, which cgroup v2
# then lets hand no memory controller down: move them into a leaf
# cgroup, so that step 7 can make cgroups with limits
# (common/cgroup-setup.sh says more).  Anywhere else it does nothing.
# Whatever runs step 7 does it first, and says something only when it
# acts (cgroup-ready).
cgroup-setup:
	@common/cgroup-setup.sh
cgroup-ready:
	@common/cgroup-setup.sh --quiet

# Not a test: it measures, and asserts nothing (tests/bench/README.md).
build/bench/runbench: tests/bench/runbench.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -o $@ $<

# Step 7 built with $(CC) (glibc) too: a row that shows what the C
# library's start costs.
build/bench/step7-glibc: step7-cgroups/main.c common/container.c common/container.h $(BUILD_FLAGS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ step7-cgroups/main.c common/container.c

# Measures the programs as `make` builds them, with musl: installed
# first, so that a fresh machine measures what this one did.
bench: $(ROOTFS_MARK) build/bench/runbench build/bench/step7-glibc cgroup-ready
	@common/require-packages.sh musl-tools || echo "bench: no musl-gcc: measuring the programs built with $(CC)"
	@$(MAKE) --no-print-directory all
	tests/bench/bench.sh build/bench/runbench build/bench/step7-glibc

run: $(call step_dir,$(STEP))/container $(ROOTFS_MARK) cgroup-ready
	$(call step_dir,$(STEP))/container run $(CMD)

# ---- checkers (CI runs them after `make test`) -------------------------------

lint:
	@common/require-packages.sh cppcheck clang-format shellcheck patch
	tests/checkers/lint

# The steps built with AddressSanitizer (and LeakSanitizer) and UBSan,
# apart from the plain ones, with the same root filesystem built in.
# asan-support.c, with clone() wrapped, tells the sanitizers what they
# cannot know about the clone child, and fixes where reports go (see there).
ASAN_DIR := build/asan
ASAN_CFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer
ASAN_BINS := $(STEPS:%=$(ASAN_DIR)/%/container)
ASAN_SUPPORT := tests/checkers/asan-support.c

$(ASAN_DIR)/%/container: %/main.c common/container.c common/container.h $(ASAN_SUPPORT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(ASAN_CFLAGS) -Wl,--wrap=clone -o $@ \
		$*/main.c common/container.c $(ASAN_SUPPORT)

check-asan: test-deps cgroup-ready $(ASAN_BINS)
	tests/checkers/check-asan $(ASAN_DIR)

# Linked dynamically: memcheck sees allocations (and so leaks) by
# replacing malloc, which it can do only where the C library is shared.
MEMCHECK_DIR := build/memcheck
MEMCHECK_BINS := $(STEPS:%=$(MEMCHECK_DIR)/%/container)

$(MEMCHECK_DIR)/%/container: %/main.c common/container.c common/container.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $*/main.c common/container.c

check-valgrind: $(MEMCHECK_BINS) $(ROOTFS_MARK) cgroup-ready
	@common/require-packages.sh valgrind
	tests/checkers/check-valgrind $(MEMCHECK_DIR)

clean:
	rm -f $(STEPS:%=%/container)
	rm -rf build

distclean: clean
	common/mkrootfs.sh --remove $(ROOTFS_DIR)
