#!/usr/bin/env bash
# make chromium-deps: makes sure the Spotlight UI test's system tools are there: Debian's chromium (the browser
# playwright-core drives), ip (iproute2) and unshare (util-linux) for the loopback-only network namespace.
# What is missing is installed with apt-get when running as root (as CI does); otherwise it says what to
# install and fails. Chromium comes from Debian's archive, so its version is Debian's (stable security
# updates), not pinned here; playwright-core is pinned in interop/package-lock.json.
set -euo pipefail

fail() { printf 'chromium-deps: FAILED: %s\n' "$*" >&2; exit 1; }

declare -A package_of=([chromium]=chromium [ip]=iproute2 [unshare]=util-linux)
missing=()
for tool in chromium ip unshare; do
	command -v "$tool" >/dev/null 2>&1 || missing+=("${package_of[$tool]}")
done
if ((${#missing[@]} == 0)); then
	echo "chromium-deps: $(chromium --version 2>/dev/null | head -n 1), ip and unshare are installed"
	exit 0
fi
if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
	fail "missing: ${missing[*]}; install them as root: apt-get install --no-install-recommends ${missing[*]}"
fi
echo "chromium-deps: installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for tool in chromium ip unshare; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool is still missing after apt-get install ${missing[*]}"
done
echo "chromium-deps: $(chromium --version 2>/dev/null | head -n 1)"
