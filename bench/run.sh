#!/usr/bin/env bash
# Runs the standard benchmark suite (cmd/s3bench) against each target in
# $TARGETS, starting and stopping each one around its run.
#
#   bench/run.sh                       # all targets, results in $OUT
#   TARGETS=storagecli bench/run.sh    # just one
#   OUT=/tmp/b ROUNDS=3 bench/run.sh   # several rounds (targets alternate)
#
# Results: $OUT/results.jsonl (one JSON line per measurement, tagged with
# "label": <target>/r<round>) and $OUT/<target>-r<round>-<suite>.txt (tables).
#
# Adding a target (MinIO, Caddy+TLS, upstream mode, a null server...): write
#   start_<name>   start it; set ENDPOINT, SERVER_PID (the process to measure),
#                  AK, SK; return once it accepts connections
#   stop_<name>    stop it (by SERVER_PID) and remove its data
# and add <name> to TARGETS. Extra s3bench flags for it (e.g. --insecure) go
# in EXTRA_FLAGS, set by start_<name>.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=${TARGETS:-storagecli}
ROUNDS=${ROUNDS:-1}
OUT=${OUT:-$(mktemp -d /tmp/s3bench.XXXXXX)}
SMALL_SECONDS=${SMALL_SECONDS:-10s}   # 4 KiB phases
LARGE_COUNT=${LARGE_COUNT:-12}        # 64 MiB objects
LARGE_READS=${LARGE_READS:-4}         # GETs of each
LIST_KEYS=${LIST_KEYS:-10000}
BIN=${BIN:-/tmp/s3bench-bin}
mkdir -p "$OUT" "$BIN"

echo "building into $BIN" >&2
go build -o "$BIN/s3bench" ./cmd/s3bench
go build -o "$BIN/storagecli" ./cmd/storagecli

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_listen() { # host:port pid
	for _ in $(seq 1 300); do
		if ! kill -0 "$2" 2>/dev/null; then
			echo "server $2 exited before listening" >&2
			return 1
		fi
		if (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "server did not listen on $1" >&2
	return 1
}

stop_pid() { # pid: SIGTERM, then wait for it to exit
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 1 600); do
		kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	echo "server $1 did not stop; killing it" >&2
	kill -KILL "$1" 2>/dev/null || true
}

# --- target: storagecli gateway run on the embedded store (durable) ---------
start_storagecli() {
	SC_HOME=$(mktemp -d /tmp/s3bench-home.XXXXXX)
	local addr="127.0.0.1:$(free_port)"
	"$BIN/storagecli" gateway run --home "$SC_HOME" --gateway.address "$addr" \
		>"$OUT/storagecli.log" 2>&1 &
	SERVER_PID=$!
	wait_listen "$addr" "$SERVER_PID"
	ENDPOINT="http://$addr" AK=accesskey SK=secretkey EXTRA_FLAGS=()
}
stop_storagecli() {
	stop_pid "$SERVER_PID"
	du -sh "$SC_HOME" >&2 || true
	rm -rf "$SC_HOME"
}

# --- the standard suite ------------------------------------------------------
suite() { # target round
	local target=$1 round=$2
	local label="$target/r$round"
	bench() { # suite-name flags...
		local name=$1
		shift
		echo "== $label $name" >&2
		S3BENCH_ACCESS_KEY=$AK S3BENCH_SECRET_KEY=$SK "$BIN/s3bench" \
			--endpoint "$ENDPOINT" --pid "$SERVER_PID" --label "$label" \
			--json "$OUT/results.jsonl" "${EXTRA_FLAGS[@]}" "$@" | tee "$OUT/$target-r$round-$name.txt"
	}
	bench small --phases put,get,head --size 4KiB --concurrency 16 --duration "$SMALL_SECONDS"
	local p="large-$round/"
	bench large-put --phases put --size 64MiB --concurrency 4 --count "$LARGE_COUNT" --payload chunked --prefix "$p"
	bench large-get --phases get,delete --size 64MiB --concurrency 4 --existing "$LARGE_COUNT" \
		--count $((LARGE_COUNT * LARGE_READS)) --prefix "$p"
	bench list --phases put,list --size 0 --concurrency 16 --count "$LIST_KEYS" --list-page 1000 --list-rounds 3
}

for round in $(seq 1 "$ROUNDS"); do
	for t in $TARGETS; do
		"start_$t"
		trap 'stop_'"$t"'' EXIT
		suite "$t" "$round"
		"stop_$t"
		trap - EXIT
	done
done
echo "results: $OUT/results.jsonl" >&2
