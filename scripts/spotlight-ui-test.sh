#!/usr/bin/env bash
# make spotlight-ui: the Spotlight web UI test (spotlightui_test.go). It installs what the test needs
# (Debian's chromium, ip and unshare through scripts/chromium-deps.sh; Spotlight and playwright-core through
# scripts/interop-deps.sh), builds the test binary, and runs it inside a new network namespace that has only
# a loopback interface: Spotlight's UI bundle initialises Sentry's browser SDK with a sentry.io DSN, and
# nothing of it may leave the machine. Screenshots land in .build/spotlight-ui/.
#
# When a prerequisite cannot be installed, the test fails under CI=true and is skipped (with what to install)
# elsewhere. VERBOSE=1 prints what the browser saw.
set -euo pipefail

cd "$(dirname "$0")/.."

unavailable() {
	if [[ ${CI:-} == true ]]; then
		printf 'spotlight-ui: FAILED: %s\n' "$*" >&2
		exit 1
	fi
	printf 'spotlight-ui: SKIPPED: %s (CI=true makes this a failure)\n' "$*" >&2
	exit 0
}

./scripts/chromium-deps.sh || unavailable "chromium, ip or unshare is missing and could not be installed"
./scripts/interop-deps.sh || unavailable "the pinned npm packages could not be installed"

mkdir -p .build
go test -c -tags spotlightui -o .build/spotlightui.test .

args=(-test.run '^TestSpotlightUI$' -test.count=1 -test.timeout=5m)
[[ ${VERBOSE:-} == 1 ]] && args+=(-test.v)
# Root may create the namespace directly; anyone else needs a user namespace (unshare -r) to do it.
unshare_flags=(-n)
[[ $(id -u) == 0 ]] || unshare_flags=(-r -n)
# shellcheck disable=SC2016 # $0 and $@ are the inner shell's
unshare "${unshare_flags[@]}" sh -c 'ip link set lo up && exec "$0" "$@"' .build/spotlightui.test "${args[@]}" ||
	{
		rc=$?
		printf 'spotlight-ui: FAILED (exit %d); screenshots, if any: .build/spotlight-ui/\n' "$rc" >&2
		exit "$rc"
	}
echo "spotlight-ui: passed; screenshots in .build/spotlight-ui/"
