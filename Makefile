# Containers from scratch, in C: `make help`.  What proves it: lab/ (`make -C lab help`).

# The steps are the folders step1-exec ... step7-cgroups: this is the list.
STEPS := $(sort $(wildcard step[1-9]-*))
NUMS := $(patsubst step%,%,$(foreach s,$(STEPS),$(firstword $(subst -, ,$(s)))))
step = $(filter step$(1)-%,$(STEPS))
EXERCISES := $(patsubst tests/exercise-%.bats,%,$(wildcard tests/exercise-*.bats))
ROOTFS_DIR := $(CURDIR)/rootfs
HELPERS := $(patsubst tests/helpers/%.c,$(ROOTFS_DIR)/usr/local/bin/%,$(wildcard tests/helpers/*.c))
STEP ?= 7
CMD ?= /bin/sh
CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror)
override CPPFLAGS += -Icommon -DDEFAULT_ROOTFS='"$(ROOTFS_DIR)"'
# The compiler of all that runs in a container: musl-gcc if installed (faster starts: lab/bench), else CC.
ifeq ($(origin CC),default)
MUSL_GCC := $(shell command -v musl-gcc 2>/dev/null)
endif
CONTAINER_CC ?= $(or $(MUSL_GCC),$(CC))
# Debian's musl-gcc sees musl's headers only; the kernel's come after.
ifeq ($(CONTAINER_CC),$(or $(MUSL_GCC),-))
override CPPFLAGS += -idirafter /usr/include/$(shell $(CC) -print-multiarch) -idirafter /usr/include
endif
# Static: needs nothing but the kernel, and starts faster.  Where the C library has no static
# form (Fedora without glibc-static), dynamic: the tests' helpers take theirs into rootfs/.
NO_LIBC_A := $(shell echo 'int main(void) {}' | $(CONTAINER_CC) -static -xc -o /dev/null - 2>&1 | grep -E 'find (library )?-lc')
LDFLAGS ?= $(if $(NO_LIBC_A),,-static)

.PHONY: all help rootfs run test doctor look clean distclean test-env cgroup-setup cgroup-ready clean-cgroups \
	FORCE $(foreach n,$(NUMS),step$(n) test-step$(n) diff-step$(n) trace-step$(n)) $(EXERCISES:%=exercise-%) $(EXERCISES:%=test-exercise-%)
all: $(STEPS:%=$(O)%/container)
# The one compile command (lab/ too, in O=build/KIND/); a new flag rebuilds.
compile = $(CONTAINER_CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c,$^)
$(O)build/flags: FORCE
	@mkdir -p $(@D); printf '%s\n' "$$FLAGS" | cmp -s - $@ || printf '%s\n' "$$FLAGS" >$@
$(O)build/flags: export FLAGS = $(compile)
help:
	@echo 'make               build every step: stepN-NAME/container'
	@echo 'make stepN         build one step (N = 1..$(words $(STEPS)))'
	@echo 'make diff-stepN    what step N adds to step N-1'
	@echo 'sudo make rootfs   (re)build rootfs/ from busybox-static (TARBALL=x.tar.gz: from a tarball)'
	@echo 'sudo make run      a shell in a container (STEP=$(STEP) CMD=$(CMD))'
	@echo 'sudo make look     from a second terminal: each running container, as the host sees it'
	@echo 'sudo make trace-stepN  the system calls that build step N'"'"'s container'
	@echo 'sudo make test     every step'"'"'s tests'
	@echo 'sudo make test-stepN [BIN=path/to/your/container]  step N'"'"'s tests'
	@echo 'sudo make test-exercise-NAME [BIN=...]  an exercise'"'"'s tests, on your step 7 (NAME: $(EXERCISES))'
	@echo 'sudo make doctor   check this machine for the workshop, and say how to fix it'
	@echo 'make clean         remove what make built (distclean: rootfs/ too)'

$(O)%/container: %/main.c common/container.c common/container.h $(EXTRA_SRC) $(O)build/flags
	@mkdir -p $(@D)
	$(compile)
# Any other program of one file, X.c: build/X (the tests' helpers, the lab's).
build/%: %.c $(O)build/flags
	@mkdir -p $(@D) && $(compile)
$(foreach n,$(NUMS),$(eval step$(n): $(call step,$(n))/container))
# An exercise's reference solution: step 7 with lab/exercises/NAME.patch.
build/exercises/%/main.c: step7-cgroups/main.c lab/exercises/%.patch
	@common/require-packages.sh patch && mkdir -p $(@D)
	patch -s --no-backup-if-mismatch -o $@ step7-cgroups/main.c lab/exercises/$*.patch
.SECONDARY: $(EXERCISES:%=build/exercises/%/main.c) $(HELPERS:$(ROOTFS_DIR)/usr/local/bin/%=build/tests/helpers/%)
$(foreach e,$(EXERCISES),$(eval exercise-$(e): build/exercises/$(e)/container))

# `make rootfs` always rebuilds; the targets that need one, only if missing.
rootfs $(ROOTFS_DIR)/container-rootfs:
	@$(if $(TARBALL)$(IMAGE),,common/require-packages.sh busybox-static)
	$(if $(IMAGE),common/unpack-image.sh '$(IMAGE)' '$(IMAGE_DIR)',common/mkrootfs.sh $(ROOTFS_DIR) $(TARBALL))
$(ROOTFS_DIR)/usr/local/bin/%: build/tests/helpers/% | $(ROOTFS_DIR)/container-rootfs
	install -D -m 0755 $< $@
	$(if $(filter -static,$(LDFLAGS)),,ldd $< | grep -o '/[^ ]*' | xargs cp -L --parents -t $(ROOTFS_DIR))
# What every test run needs besides the program under test.
test-env: $(ROOTFS_DIR)/container-rootfs $(HELPERS) cgroup-ready
	@common/require-packages.sh bats bats-assert bats-support procps strace iproute2
# BIN: a learner's program, given this repository's root filesystem.
tests = @$(if $(BIN),BIN="$(abspath $(BIN))" ROOTFS="$(or $(ROOTFS),$(ROOTFS_DIR))") tests/run
test: all test-env
	$(tests) tests/step*.bats tests/rootfs.bats tests/hardening.bats
$(foreach n,$(NUMS),$(eval test-step$(n): test-env $$(if $$(BIN),,$(call step,$(n))/container) ; \
	$$(tests) tests/$(call step,$(n)).bats))
# An exercise adds to step 7, and keeps it: step 7's tests run too.
$(foreach e,$(EXERCISES),$(eval test-exercise-$(e): test-env $$(if $$(BIN),,step7-cgroups/container) ; \
	@BIN="$$(abspath $$(or $$(BIN),step7-cgroups/container))" ROOTFS="$$(or $$(ROOTFS),$(ROOTFS_DIR))" \
		tests/run tests/exercise-$(e).bats tests/step7-cgroups.bats))

run: $(call step,$(STEP))/container $(ROOTFS_DIR)/container-rootfs cgroup-ready
	$(call step,$(STEP))/container run $(CMD)
# diff exits 1 when the files differ, which is the point here.
$(foreach n,$(wordlist 2,$(words $(NUMS)),$(NUMS)),$(eval diff-step$(n): ; \
	@diff -u --color=auto $(call step,$(shell echo $$(($(n)-1))))/main.c $(call step,$(n))/main.c || test $$$$? -eq 1))
$(foreach n,$(NUMS),$(eval trace-step$(n): all $(ROOTFS_DIR)/container-rootfs ; \
	@common/require-packages.sh strace && common/trace.sh $(n)))
look: ; @common/look.sh $(PID)
doctor: ; @CONTAINER_CC='$(CONTAINER_CC)' LDFLAGS='$(LDFLAGS)' common/doctor.sh $(CURDIR)
clean-cgroups: ; @common/clean-cgroups.sh
# In Docker on cgroup v2, let step 7 make cgroups (common/cgroup-setup.sh).
cgroup-setup cgroup-ready:
	@common/cgroup-setup.sh $(if $(filter cgroup-ready,$@),--quiet)
clean: ; rm -rf build $(STEPS:%=%/container)
distclean: clean ; common/mkrootfs.sh --remove $(ROOTFS_DIR)
