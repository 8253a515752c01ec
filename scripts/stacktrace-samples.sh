#!/usr/bin/env bash
# Regenerates internal/stacktrace/testdata/samples/<lang>/*.txt: the exception.stacktrace text that real
# runtimes print through the code path their OTel SDK uses, from the small programs under
# internal/stacktrace/testdata/programs/<lang>/. The samples are checked in, so tests and CI need no runtime;
# run this by hand after changing a program (then re-check the hand-written .want files).
#
# Runtimes (Debian packages, installed by `--install`): python3 (3.11+), nodejs, ruby, php-cli, mono-devel,
# default-jdk-headless; Go is the toolchain running the project. A missing runtime is skipped with a note.
# Programs run from /tmp/stacktrace-samples/<lang> so that the paths in the samples do not depend on the
# checkout's location.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
PROGRAMS=$ROOT/internal/stacktrace/testdata/programs
SAMPLES=$ROOT/internal/stacktrace/testdata/samples
RUN=/tmp/stacktrace-samples

if [[ ${1:-} == --install ]]; then
	apt-get install -y --no-install-recommends python3 nodejs ruby php-cli mono-devel default-jdk-headless
fi

have() {
	if command -v "$1" >/dev/null; then return 0; fi
	echo "skipping $2: $1 not installed" >&2
	return 1
}

# stage LANG: a fresh copy of the language's programs in $RUN/LANG, and the samples directory.
stage() {
	rm -rf "${RUN:?}/$1"
	mkdir -p "$RUN/$1" "$SAMPLES/$1"
	cp -R "$PROGRAMS/$1/." "$RUN/$1/"
	cd "$RUN/$1"
}

# sample LANG NAME CMD...: runs CMD and stores what it printed as the sample NAME.
sample() {
	local lang=$1 name=$2
	shift 2
	"$@" >"$SAMPLES/$lang/$name.txt"
	echo "wrote $SAMPLES/$lang/$name.txt"
}

if have python3 python; then
	stage python
	sample python chain python3 "$RUN/python/chain.py"
	sample python taskgroup python3 "$RUN/python/group.py" taskgroup
	sample python nested-group python3 "$RUN/python/group.py" nested
	sample python group-context python3 "$RUN/python/group.py" context
	sample python wide-group python3 "$RUN/python/group.py" wide
fi

if have go go; then
	stage go
	export GOFLAGS=-mod=mod GOSUMDB=off
	go build -trimpath -o shop-trimpath .
	go build -o shop .
	sample go record-error-trimpath ./shop-trimpath record
	sample go record-error ./shop record
	sample go debug-stack-trimpath ./shop-trimpath debugstack
	sample go debug-stack ./shop debugstack
	# An uncaught panic goes to stderr with exit status 2.
	sample go panic-trimpath sh -c './shop-trimpath panic 2>&1 || true'
	unset GOFLAGS GOSUMDB
fi

if have node node; then
	stage node
	sample node cjs node "$RUN/node/cjs.js"
	sample node esm node "$RUN/node/esm.mjs"
fi

if have javac java; then
	stage java
	javac -d classes Shop.java
	sample java suppressed-cause java -cp classes com.example.shop.Shop
fi

if have ruby ruby; then
	stage ruby
	sample ruby cause ruby "$RUN/ruby/shop.rb"
fi

if have php php; then
	stage php
	sample php otel-java-like php "$RUN/php/otel.php"
	rm -f "$RUN/php/error.log"
	php -d log_errors=1 -d error_log="$RUN/php/error.log" -d display_errors=0 -d date.timezone=UTC \
		"$RUN/php/native.php" || true
	cp "$RUN/php/error.log" "$SAMPLES/php/error-log.txt"
	echo "wrote $SAMPLES/php/error-log.txt"
fi

if have mcs mono; then
	stage mono
	mcs -debug -out:shop.exe Shop.cs
	sample mono inner-sync mono --debug shop.exe sync
	sample mono inner-async mono --debug shop.exe async
	sample mono aggregate mono --debug shop.exe aggregate
fi
