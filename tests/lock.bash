# One test run at a time on a machine: the tests compare its cgroups and mounts before and after
# each test, where another run's containers would show.  `take_test_lock` waits for the lock
# (saying so) and holds it until the calling script exits; the scripts it runs see TESTS_LOCKED.
# shellcheck shell=bash

take_test_lock() {
	[[ -z ${TESTS_LOCKED-} && $(id -u) -eq 0 ]] || return 0
	local lock=/run/lock/containers-from-scratch-tests.lock
	[[ -d ${lock%/*} ]] || lock=/tmp/${lock##*/}
	exec 9>"$lock"
	if ! flock -n 9; then
		echo "${0##*/}: another test run holds $lock; waiting for it to end" >&2
		flock 9
	fi
	export TESTS_LOCKED=1
}
