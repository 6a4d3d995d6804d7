#!/usr/bin/env bash
# One noisy source against the others: sipp floods `sipline answer` with calls from
# 127.0.0.2 at FLOOD calls/s for 12 s, while a second sipp places LEGIT calls at 20/s from
# 127.0.0.3. Both use the ladder's call (bench/load/uac_calls.xml: 1 s calls, a 503 ACKed and
# counted apart). sipp runs on core 0 and the answerer (release build) on core 1. Prints each
# source's completed and refused calls and the answerer's peak RSS. Bounded: FLOOD·12 calls.
#
#   bench/load/flood.sh                 FLOOD=5000 LEGIT=200
#   FLOOD=2000 LEGIT=100 bench/load/flood.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
FLOOD=${FLOOD:-5000}
LEGIT=${LEGIT:-200}
PORT=${PORT:-5091}
command -v sipp >/dev/null || { echo "sipp is needed (scripts/install-peers)"; exit 1; }
cargo build -q --release -p sipline
out=$(mktemp -d)
answerer=
cleanup() {
    [ -n "$answerer" ] && kill "$answerer" 2>/dev/null || true
    rm -rf "$out"
}
trap cleanup EXIT
scenario=$(pwd)/bench/load/uac_calls.xml
taskset -c 1 target/release/sipline answer --listen 127.0.0.1:"$PORT" --count 100000000 >/dev/null 2>&1 &
answerer=$!
sleep 2
taskset -c 0 sipp -sf "$scenario" 127.0.0.1:"$PORT" -s bob -i 127.0.0.2 -p 0 -m $(( FLOOD * 12 )) -r "$FLOOD" \
    -d 1000 -l $(( FLOOD * 4 )) -buff_size 4194304 -nostdin -timeout 30s -trace_stat -stf "$out/flood.csv" \
    >/dev/null 2>&1 &
flood=$!
sleep 1
taskset -c 0 sipp -sf "$scenario" 127.0.0.1:"$PORT" -s bob -i 127.0.0.3 -p 0 -m "$LEGIT" -r 20 -d 1000 \
    -nostdin -timeout 60s -trace_stat -stf "$out/legit.csv" >/dev/null 2>&1 || true
wait "$flood" || true
rss=$(awk '/VmHWM/ {print $2}' "/proc/$answerer/status")
python3 - "$out" "$FLOOD" "$LEGIT" "$rss" <<'PY'
import csv, sys
out, flood, legit, rss = sys.argv[1:]
for name, offered in (("flood", f"{flood}/s from 127.0.0.2"), ("legit", f"{legit} calls at 20/s from 127.0.0.3")):
    rows = list(csv.reader(open(f"{out}/{name}.csv"), delimiter=';'))
    head, last = rows[0], rows[-1]
    g = lambda k: int(last[head.index(k)])
    refused = g('FailedTimeoutOnRecv(C)')
    print(f"{name:>5} ({offered}): {g('SuccessfulCall(C)')} completed, {refused} refused (503), "
          f"{g('FailedCall(C)') - refused} failed, retransmissions {g('Retransmissions(C)')}")
print(f"answerer peak RSS {int(rss) // 1024} MiB")
PY
