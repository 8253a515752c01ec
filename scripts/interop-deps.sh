#!/usr/bin/env bash
# make interop-deps: installs the pinned third-party Sentry consumers of the interop tests (interop/package.json
# and its package-lock.json: Spotlight, the sentry-cli binary, playwright-core) into .build/interop/node_modules
# with `npm ci`. Idempotent: skipped while the installed copy was made from the same package.json, lock file
# and .npmrc (their sha256 is kept in .build/interop/.installed).
#
# npm talks only to the registry: no install scripts (nothing downloads binaries or browsers), no audit, no
# funding or update-notifier requests. Prerequisite: node >= 20 and npm (Debian: apt-get install nodejs npm).
set -euo pipefail

cd "$(dirname "$0")/.."
SRC=$PWD/interop
DEST=$PWD/.build/interop
STAMP=$DEST/.installed

fail() { printf 'interop-deps: FAILED: %s\n' "$*" >&2; exit 1; }
command -v node >/dev/null 2>&1 || fail "node is not installed (Debian: apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || fail "npm is not installed (Debian: apt-get install npm)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
	fail "node $(node --version) is too old: Spotlight needs node >= 20"

want=$(cd "$SRC" && sha256sum package.json package-lock.json .npmrc)
if [[ -f $STAMP && -d $DEST/node_modules ]] && [[ $(cat "$STAMP") == "$want" ]]; then
	echo "interop-deps: .build/interop is up to date with interop/package-lock.json"
	exit 0
fi

START=$SECONDS
rm -rf "$DEST"
mkdir -p "$DEST"
cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/.npmrc" "$DEST/"
# The environment overrides any user or global npmrc that would turn these back on; npm's download cache
# stays in .build too.
(
	cd "$DEST"
	NPM_CONFIG_AUDIT=false NPM_CONFIG_FUND=false NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_IGNORE_SCRIPTS=true \
		NPM_CONFIG_CACHE="$PWD/../npm-cache" \
		npm ci --no-audit --no-fund --ignore-scripts --no-update-notifier --loglevel=warn
)
printf '%s\n' "$want" >"$STAMP"
echo "interop-deps: installed into .build/interop in $((SECONDS - START))s"
