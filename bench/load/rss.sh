#!/usr/bin/env bash
# Where the answerer's memory goes between runs: ROUNDS runs of COUNT calls at RATE calls/s
# (the ladder's call: 1 s, RTP from the answerer) against one `sipline answer` (release build),
# printing after each run, once the calls and their transactions are over (40 s), the RSS and
# the session layer's gauges (live calls, dialogs, server transactions, from --metrics).
# Any environment is passed to the answerer, so the allocator can be asked to give memory
# back (e.g. MALLOC_ARENA_MAX=1, or GLIBC_TUNABLES=glibc.malloc.trim_threshold=131072) to tell
# memory the allocator keeps from state that is never freed. Bounded: ROUNDS · (COUNT/RATE + 45) s.
#
#   bench/load/rss.sh                                   ROUNDS=3 COUNT=20000 RATE=1000
#   MALLOC_ARENA_MAX=1 bench/load/rss.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
COUNT=${COUNT:-20000}
RATE=${RATE:-1000}
command -v sipp >/dev/null || { echo "sipp is needed (scripts/install-peers)"; exit 1; }
cargo build -q --release -p sipline
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
sip=$(free_port); metrics=$(free_port)
taskset -c 1 target/release/sipline answer --listen 127.0.0.1:"$sip" --count 100000000 --metrics 127.0.0.1:"$metrics" \
    >/dev/null 2>&1 &
answerer=$!
trap 'kill $answerer 2>/dev/null || true' EXIT
sleep 2
report() {
    local rss gauges
    rss=$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$answerer/status")
    gauges=$(curl -s "http://127.0.0.1:$metrics/metrics" | grep -E '^sipline_(calls|dialogs|transactions)_active ' \
        | sed 's/^sipline_//; s/_active//' | tr '\n' ' ' || true)
    echo "$1: RSS $rss MiB; ${gauges:-no gauges yet}"
}
report "idle"
for round in $(seq 1 "$ROUNDS"); do
    taskset -c 0 sipp -sf bench/load/uac_calls.xml 127.0.0.1:"$sip" -s bob -i 127.0.0.1 -p 0 -m "$COUNT" -r "$RATE" \
        -d 1000 -l $(( RATE * 4 )) -buff_size 4194304 -nostdin -timeout $(( COUNT / RATE + 40 ))s >/dev/null 2>&1 || true
    sleep 40
    report "after run $round ($COUNT calls at $RATE/s)"
done
