#!/usr/bin/env bash
# make run: from a fresh clone (only Go installed) to traces in a local Sentry receiver, in one command.
#
#   1. installs ocb (from internal/tools/go.mod) and telemetrygen into .build/bin, if missing
#   2. builds the collector otelcol-sentry from builder-config.yaml, if any source is newer than it
#   3. starts fakesentry (a local Sentry ingestion fake) and the collector with examples/collector.yaml
#   4. sends a realistic workload with cmd/sendtraces (traces and the logs linked to them, OTLP/HTTP) and
#      10 traces with telemetrygen (OTLP/gRPC)
#   5. waits until everything arrived, stops all it started, and prints what "Sentry" received: one block per
#      trace (transactions nested, child spans summarised by op, errors and logs under the transaction they
#      belong to), telemetrygen's look-alike traces as one count line, then the totals
#
# Everything listens on 127.0.0.1. Logs are kept in .build/run/. Environment knobs:
#   SENDTRACES_ARGS  extra flags for sendtraces, e.g. "-traces 200 -seed 3"
#   RUN_TIMEOUT      seconds to wait for delivery (default 60)
#   REPORT_TRACES    traces printed in full, those with errors first (default 12; 0: all); the rest are counted
#   QUIET=1          print only totals, not the traces
#   PROTOCOL=otlp    the exporter's protocol (default transactions): otlp sends spans and logs to Sentry's OTLP
#                    endpoints (trace assembly off) and exceptions as error events; docs/protocols.md
#   SPOTLIGHT=1      (make spotlight) send to Spotlight, Sentry's local development UI, instead of fakesentry,
#                    and keep its UI open at http://localhost:SPOTLIGHT_PORT/ (default 8969) until CTRL-C, or
#                    for SPOTLIGHT_SECONDS. Needs node >= 20 and npm; see docs/spotlight.md for what it sends where
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$ROOT/.build
BIN=$BUILD/bin
RUNDIR=$BUILD/run
COLLECTOR=$BUILD/otelcol-sentry/otelcol-sentry
TELEMETRYGEN_VERSION=v0.161.0
RUN_TIMEOUT=${RUN_TIMEOUT:-60}
PROTOCOL=${PROTOCOL:-transactions}
case $PROTOCOL in
transactions) TRACE_ASSEMBLY=true ;;
otlp) TRACE_ASSEMBLY=false ;; # Sentry assembles segments from OTLP spans itself
*)
	printf 'run.sh: PROTOCOL=%s: must be transactions or otlp\n' "$PROTOCOL" >&2
	exit 2
	;;
esac

step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
fail() { printf '\nrun.sh: FAILED: %s\n' "$*" >&2; exit 1; }
elapsed() { echo "$((SECONDS - START))s"; }
START=$SECONDS

command -v go >/dev/null 2>&1 || fail "Go is not installed (https://go.dev/dl/); it is the only prerequisite"

# --- processes we start, stopped on any exit (success, failure, CTRL-C) --------------------------------
COLLECTOR_PID=
FAKESENTRY_PID=
SPOTLIGHT_PID=
SPOTLIGHT=${SPOTLIGHT:-}
[[ $SPOTLIGHT == 1 ]] || SPOTLIGHT=

# stop_pid PID NAME: SIGTERM, up to 15 s for a graceful exit, then SIGKILL. Only ever our own children.
stop_pid() {
	local pid=$1 name=$2
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		info "$name did not stop within 15s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $COLLECTOR_PID || -n $FAKESENTRY_PID || -n $SPOTLIGHT_PID ]]; then
		step "Stopping what run.sh started"
		stop_pid "$COLLECTOR_PID" collector
		stop_pid "$FAKESENTRY_PID" fakesentry
		exec 7>&- # Spotlight's server also stops when its stdin closes
		stop_pid "$SPOTLIGHT_PID" spotlight
	fi
	if ((rc == 130 || rc == 143)); then
		printf '\nrun.sh interrupted after %s; everything it started is stopped. Logs: %s/\n' "$(elapsed)" "$RUNDIR" >&2
	elif ((rc != 0)); then
		printf '\nrun.sh failed after %s. Logs: %s/\n' "$(elapsed)" "$RUNDIR" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers ---------------------------------------------------------------------------------------------

# port_in_use PORT: true when something accepts connections on 127.0.0.1:PORT (bash's /dev/tcp; no curl needed).
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port PREFERRED: PREFERRED if nothing listens there, else the next free port above it.
free_port() {
	local p=$1
	for _ in $(seq 200); do
		if ! port_in_use "$p"; then
			echo "$p"
			return 0
		fi
		p=$((p + 1))
	done
	fail "no free port found from $1 upwards"
}

# http_status PORT PATH: the status code of GET http://127.0.0.1:PORT/PATH, or nothing.
http_status() {
	local port=$1 path=$2 line
	exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
	printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
	IFS= read -r -t 5 line <&3 || true
	exec 3>&-
	line=${line%$'\r'}
	echo "${line#* }" | cut -d' ' -f1
}

# http_body PORT PATH: the body of GET http://127.0.0.1:PORT/PATH.
http_body() {
	local port=$1 path=$2
	exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
	printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
	sed '1,/^\r\{0,1\}$/d' <&3
	exec 3>&-
}

# alive PID NAME LOG: fails with the log's tail when the process has exited.
alive() {
	kill -0 "$1" 2>/dev/null && return 0
	printf '\n--- last lines of %s ---\n' "$3" >&2
	tail -n 40 "$3" >&2 || true
	fail "$2 exited unexpectedly"
}

# received_counts: "<spans> <errors> <logs>" that fakesentry has printed so far (transaction and OTLP traces
# lines end in spans=N, OTLP logs lines in records=N).
received_counts() {
	awk '/^transaction "/ || /^otlp traces / { if (match($0, /spans=[0-9]+$/)) s += substr($0, RSTART + 6) }
	     /^otlp logs / { if (match($0, /records=[0-9]+$/)) l += substr($0, RSTART + 8) }
	     /^error \[/ { e++ }
	     /^log \[/ { l++ }
	     END { printf "%d %d %d\n", s, e, l }' "$RUNDIR/fakesentry.log"
}

# --- 1. tools --------------------------------------------------------------------------------------------
mkdir -p "$BIN" "$RUNDIR"
step "Tools in .build/bin [$(elapsed)]"
if [[ ! -x $BIN/builder ]]; then
	info "installing ocb (go.opentelemetry.io/collector/cmd/builder, version pinned in internal/tools/go.mod)"
	GOBIN=$BIN go install -modfile=internal/tools/go.mod go.opentelemetry.io/collector/cmd/builder
fi
info "ocb: $("$BIN/builder" version 2>&1 | tail -n 1)"
if [[ ! -x $BIN/telemetrygen ]]; then
	info "installing telemetrygen $TELEMETRYGEN_VERSION (through the Go module proxy; about a minute the first time)"
	GOBIN=$BIN go install "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@$TELEMETRYGEN_VERSION"
fi
info "telemetrygen: $TELEMETRYGEN_VERSION"
if [[ -n $SPOTLIGHT ]]; then
	info "Spotlight (npm, pinned in interop/package-lock.json)"
	./scripts/interop-deps.sh || fail "could not install Spotlight into .build/interop (scripts/interop-deps.sh)"
fi
info "building fakesentry and sendtraces"
go build -o "$BIN/fakesentry" ./cmd/fakesentry
go build -o "$BIN/sendtraces" ./cmd/sendtraces

# --- 2. collector ----------------------------------------------------------------------------------------
step "Collector otelcol-sentry [$(elapsed)]"
newer=
if [[ -x $COLLECTOR ]]; then
	newer=$(find . \( -path ./.build -o -path ./.git \) -prune -o \
		\( \( -name '*.go' ! -name '*_test.go' \) -o -name go.mod -o -name go.sum -o -name builder-config.yaml \) -newer "$COLLECTOR" -print -quit)
fi
if [[ -x $COLLECTOR && -z $newer ]]; then
	info "up to date: $COLLECTOR"
else
	if [[ -x $COLLECTOR ]]; then info "rebuilding: $newer changed"; else info "building (first time: 1-5 minutes, then seconds)"; fi
	t0=$SECONDS
	"$BIN/builder" --config builder-config.yaml >"$RUNDIR/ocb.log" 2>&1 || {
		tail -n 40 "$RUNDIR/ocb.log" >&2
		fail "ocb could not build the collector (full log: $RUNDIR/ocb.log)"
	}
	info "built $COLLECTOR in $((SECONDS - t0))s"
fi

# --- 3. the receiver (fakesentry or Spotlight) and the collector ---------------------------------------
# start_spotlight: Spotlight's server and UI (interop/spotlight-server.mjs --ui), without its CLI, on 127.0.0.1.
start_spotlight() {
	step "Starting Spotlight (Sentry's local development UI) [$(elapsed)]"
	local port fifo=$RUNDIR/spotlight.stdin
	port=$(free_port "${SPOTLIGHT_PORT:-8969}")
	rm -f "$fifo" "$RUNDIR/spotlight.log"
	mkfifo "$fifo"
	node interop/spotlight-server.mjs "$BUILD/interop/node_modules" --ui --port "$port" <"$fifo" >"$RUNDIR/spotlight.log" 2>&1 &
	SPOTLIGHT_PID=$!
	exec 7>"$fifo" # its stdin: closed when run.sh exits, however it exits
	for _ in $(seq 100); do
		alive "$SPOTLIGHT_PID" spotlight "$RUNDIR/spotlight.log"
		grep -q '"port"' "$RUNDIR/spotlight.log" && break
		sleep 0.1
	done
	grep -q '"port"' "$RUNDIR/spotlight.log" || fail "Spotlight did not start within 10s (log: $RUNDIR/spotlight.log)"
	SPOTLIGHT_PORT=$port
	DSN=http://spotlight@127.0.0.1:$port/1
	info "DSN: $DSN"
}

if [[ -n $SPOTLIGHT ]]; then
	start_spotlight
else
	step "Starting fakesentry (a local stand-in for sentry.io) [$(elapsed)]"
	FAKESENTRY_ADDR=127.0.0.1:8000
	if port_in_use 8000; then
		info "127.0.0.1:8000 is taken; using a free port instead"
		FAKESENTRY_ADDR=127.0.0.1:0
	fi
	QUIET_FLAG=()
	[[ ${QUIET:-} == 1 ]] && QUIET_FLAG=(-quiet)
	rm -f "$RUNDIR/report.txt"
	"$BIN/fakesentry" -addr "$FAKESENTRY_ADDR" "${QUIET_FLAG[@]}" -report "$RUNDIR/report.txt" -report-traces "${REPORT_TRACES:-12}" \
		>"$RUNDIR/fakesentry.log" 2>&1 &
	FAKESENTRY_PID=$!
	DSN=
	for _ in $(seq 100); do
		alive "$FAKESENTRY_PID" fakesentry "$RUNDIR/fakesentry.log"
		DSN=$(sed -n 's/^DSN: //p' "$RUNDIR/fakesentry.log")
		[[ -n $DSN ]] && break
		sleep 0.1
	done
	[[ -n $DSN ]] || fail "fakesentry printed no DSN within 10s (log: $RUNDIR/fakesentry.log)"
	info "DSN: $DSN"
fi

step "Starting the collector with examples/collector.yaml [$(elapsed)]"
OTLP_GRPC_PORT=$(free_port 4317)
OTLP_HTTP_PORT=$(free_port 4318)
[[ $OTLP_HTTP_PORT == "$OTLP_GRPC_PORT" ]] && OTLP_HTTP_PORT=$(free_port $((OTLP_GRPC_PORT + 1)))
HEALTH_PORT=$(free_port 13133)
METRICS_PORT=$(free_port 8888)
info "OTLP gRPC 127.0.0.1:$OTLP_GRPC_PORT, OTLP HTTP 127.0.0.1:$OTLP_HTTP_PORT, health 127.0.0.1:$HEALTH_PORT, metrics 127.0.0.1:$METRICS_PORT"
info "protocol: $PROTOCOL"
SENTRY_DSN=$DSN SENTRY_ENVIRONMENT=local SENTRY_PROTOCOL=$PROTOCOL SENTRY_TRACE_ASSEMBLY=$TRACE_ASSEMBLY \
	OTLP_GRPC_PORT=$OTLP_GRPC_PORT OTLP_HTTP_PORT=$OTLP_HTTP_PORT \
	HEALTH_PORT=$HEALTH_PORT METRICS_PORT=$METRICS_PORT BATCH_TIMEOUT=500ms \
	"$COLLECTOR" --config examples/collector.yaml >"$RUNDIR/collector.log" 2>&1 &
COLLECTOR_PID=$!
healthy=
for _ in $(seq 600); do
	alive "$COLLECTOR_PID" collector "$RUNDIR/collector.log"
	if [[ $(http_status "$HEALTH_PORT" / 2>/dev/null || true) == 200 ]]; then
		healthy=1
		break
	fi
	sleep 0.1
done
[[ -n $healthy ]] || fail "collector not healthy after 60s (log: $RUNDIR/collector.log)"
info "healthy"

# --- 4. traffic ------------------------------------------------------------------------------------------
step "Sending traces and logs [$(elapsed)]"
# shellcheck disable=SC2086 # SENDTRACES_ARGS is a list of flags
sent=$("$BIN/sendtraces" -endpoint "http://127.0.0.1:$OTLP_HTTP_PORT/v1/traces" ${SENDTRACES_ARGS:-})
info "sendtraces:   $sent"
sent_spans=$(sed -n 's/.* spans=\([0-9]*\).*/\1/p' <<<"$sent")
sent_exceptions=$(sed -n 's/.* exceptions=\([0-9]*\).*/\1/p' <<<"$sent")
sent_logs=$(sed -n 's/.* logs=\([0-9]*\).*/\1/p' <<<"$sent")
TG_TRACES=10
TG_CHILDREN=3
"$BIN/telemetrygen" traces --otlp-insecure --otlp-endpoint "127.0.0.1:$OTLP_GRPC_PORT" \
	--traces "$TG_TRACES" --child-spans "$TG_CHILDREN" --rate 0 >"$RUNDIR/telemetrygen.log" 2>&1 || {
	tail -n 20 "$RUNDIR/telemetrygen.log" >&2
	fail "telemetrygen failed (log: $RUNDIR/telemetrygen.log)"
}
info "telemetrygen: traces=$TG_TRACES spans=$((TG_TRACES * (1 + TG_CHILDREN))) (OTLP/gRPC)"
want_spans=$((sent_spans + TG_TRACES * (1 + TG_CHILDREN)))
want_errors=$sent_exceptions
want_logs=${sent_logs:-0}

# --- 5. delivery -----------------------------------------------------------------------------------------
step "Waiting for Sentry to receive $want_spans spans ($PROTOCOL), $want_errors error events and $want_logs logs [$(elapsed)]"
got_spans=0
got_errors=0
got_logs=0
deadline=$((SECONDS + RUN_TIMEOUT))
# fakesentry prints what it received unless QUIET=1; otherwise the collector's metrics say what was accepted.
from_metrics=
[[ ${QUIET:-} == 1 || -n $SPOTLIGHT ]] && from_metrics=1
if [[ -n $from_metrics ]]; then
	info "(counting what the receiver accepted from the collector's metrics)"
fi
while :; do
	if [[ -n $SPOTLIGHT ]]; then
		alive "$SPOTLIGHT_PID" spotlight "$RUNDIR/spotlight.log"
	else
		alive "$FAKESENTRY_PID" fakesentry "$RUNDIR/fakesentry.log"
	fi
	alive "$COLLECTOR_PID" collector "$RUNDIR/collector.log"
	if [[ -n $from_metrics ]]; then
		m=$(http_body "$METRICS_PORT" /metrics 2>/dev/null || true)
		got_spans=$(awk '/^otelcol_sentry_exporter_spans_sent / { print $2 }' <<<"$m")
		got_errors=$(awk '/^otelcol_sentry_exporter_envelopes_sent\{category="error"\}/ { print $2 }' <<<"$m")
		got_logs=$(awk '/^otelcol_sentry_exporter_logs_sent / { print $2 }' <<<"$m")
		got_spans=${got_spans:-0}
		got_errors=${got_errors:-0}
		got_logs=${got_logs:-0}
	else
		read -r got_spans got_errors got_logs < <(received_counts)
	fi
	if ((got_spans >= want_spans && got_errors >= want_errors && got_logs >= want_logs)); then
		break
	fi
	if ((SECONDS >= deadline)); then
		fail "after ${RUN_TIMEOUT}s Sentry had $got_spans of $want_spans spans, $got_errors of $want_errors errors and $got_logs of $want_logs logs (logs: $RUNDIR/)"
	fi
	sleep 0.2
done
info "received $got_spans spans, $got_errors error events and $got_logs logs"

# The collector's own view, from its Prometheus endpoint (see docs/collector-build.md).
metrics=$(http_body "$METRICS_PORT" /metrics 2>/dev/null || true)

# Stop in order: the collector drains, then fakesentry prints its totals.
step "Stopping [$(elapsed)]"
stop_pid "$COLLECTOR_PID" collector
COLLECTOR_PID=
stop_pid "$FAKESENTRY_PID" fakesentry
FAKESENTRY_PID=

if [[ -z $SPOTLIGHT ]]; then
	if [[ ${QUIET:-} == 1 ]]; then
		step "What Sentry received"
	else
		step "What Sentry received, trace by trace (every item as it arrived: $RUNDIR/fakesentry.log)"
		cat "$RUNDIR/report.txt"
	fi
	grep '^totals:' "$RUNDIR/fakesentry.log" || true
fi

step "Collector self-metrics (http://127.0.0.1:$METRICS_PORT/metrics while it ran)"
grep -E '^otelcol_(exporter_sent_spans|exporter_send_failed_spans|sentry_exporter_(envelopes_sent|spans_sent|logs_sent|items_dropped|requests|bytes_sent)[{ ])' \
	<<<"$metrics" | sed 's/^/    /' || info "(none captured)"

if [[ -n $SPOTLIGHT ]]; then
	refused=$(grep -E '^otelcol_sentry_exporter_requests\{status_code="[^2]' <<<"$metrics" || true)
	[[ -z $refused ]] || fail "Spotlight refused some envelopes: $refused (log: $RUNDIR/spotlight.log)"
	step "Spotlight has it all [$(elapsed)]: open http://localhost:$SPOTLIGHT_PORT/ in your browser"
	info "Errors, traces (waterfalls) and logs of the workload; its server runs without Spotlight's CLI and"
	info "its Sentry SDK, and the page's own Sentry SDK is kept off sentry.io by the server's CSP (docs/spotlight.md)."
	if [[ -n ${SPOTLIGHT_SECONDS:-} ]]; then
		info "Stopping Spotlight in ${SPOTLIGHT_SECONDS}s (SPOTLIGHT_SECONDS)."
		for _ in $(seq "$SPOTLIGHT_SECONDS"); do
			alive "$SPOTLIGHT_PID" spotlight "$RUNDIR/spotlight.log"
			sleep 1
		done
	else
		info "Press CTRL-C to stop Spotlight."
		trap 'exit 0' INT TERM # stopping here is how this mode ends
		wait "$SPOTLIGHT_PID" || true
		fail "Spotlight stopped by itself (log: $RUNDIR/spotlight.log)"
	fi
	exec 7>&-
	stop_pid "$SPOTLIGHT_PID" spotlight
	SPOTLIGHT_PID=
	step "Done in $(elapsed): traces and logs went through otelcol-sentry into Spotlight."
	exit 0
fi

totals=$(grep '^totals:' "$RUNDIR/fakesentry.log" || true)
if ! grep -q 'discarded=0 .*rejected=0' <<<"$totals"; then
	fail "Sentry discarded or rejected some items: $totals"
fi
step "Done in $(elapsed): traces and logs went through otelcol-sentry into the local Sentry receiver."
info "Logs: $RUNDIR/{fakesentry,collector,telemetrygen}.log"
info "Point it at a real project: SENTRY_DSN='https://<key>@o<org>.ingest.sentry.io/<project>' $COLLECTOR --config examples/collector.yaml"
