#!/usr/bin/env bash
# Soak: CALLS calls (100 000 by default) at RATE calls/s (1 000) through kamailio's dispatcher
# (deploy/kamailio/dispatcher.cfg) to one `sipline answer` (release build), each call held 1 s
# with RTP from the answerer. sipp and kamailio run on core 0, the answerer on core 1. The
# answerer's RSS is sampled every 5 s; at the end the script prints the RSS after the first
# tenth of the run and at its end (the growth between them) and at each tenth, sipp's counts,
# and — once every
# transaction has had time to end (40 s) — the answerer's gauges of live calls, dialogs and
# server transactions, which must be back to 0. Bounded: CALLS / RATE seconds plus about a
# minute.
#
#   bench/load/soak.sh                     CALLS=100000 RATE=1000
#   CALLS=20000 RATE=500 bench/load/soak.sh
#   HEAPTRACK=/tmp/soak CALLS=100000 RATE=250 bench/load/soak.sh   # heap profile of the answerer:
#       heaptrack_print -f /tmp/soak.zst --print-peaks 1 --print-leaks 1
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
CALLS=${CALLS:-100000}
RATE=${RATE:-1000}
command -v sipp >/dev/null && command -v kamailio >/dev/null || { echo "sipp and kamailio are needed (scripts/install-peers)"; exit 1; }
cargo build -q --release -p sipline
out=$(mktemp -d)
pids=()
cleanup() {
    # Ctrl-C first: the program stops cleanly (and a profiler writes its data out).
    [ -n "${answerer:-}" ] && kill -INT "$answerer" 2>/dev/null && sleep 2
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$out"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
sip=$(free_port); front=$(free_port); metrics=$(free_port)

profiler=()
[ -n "${HEAPTRACK:-}" ] && profiler=(heaptrack -o "$HEAPTRACK")
taskset -c 1 "${profiler[@]}" target/release/sipline answer --listen 127.0.0.1:"$sip" --count 100000000 --metrics 127.0.0.1:"$metrics" \
    >/dev/null 2>&1 &
pids+=($!)
sleep 1
# The program itself, also when a profiler started it as its child.
answerer=$(pgrep -n -f "^target/release/sipline answer --listen 127.0.0.1:$sip ")
pids+=("$answerer")
echo "1 sip:127.0.0.1:$sip" >"$out/dispatcher.list"
taskset -c 0 kamailio -f deploy/kamailio/dispatcher.cfg -DD -E -m 256 -M 16 -Y "$out" -A "LISTEN=udp:127.0.0.1:$front" \
    -A "DS_LIST=\"$out/dispatcher.list\"" -A "CTL_SOCKET=\"unix:$out/ctl\"" >"$out/kamailio.log" 2>&1 &
pids+=($!)
sleep 4

(
    while kill -0 "$answerer" 2>/dev/null; do
        echo "$SECONDS $(awk '/VmRSS/ {print $2}' "/proc/$answerer/status")"
        sleep 5
    done
) >"$out/rss" &
pids+=($!)
start=$SECONDS
# -default_behaviors without abortunexp: kamailio's two workers may pass a 180 on after its
# 200, which RFC 3261 lets a caller ignore; sipp would otherwise abort the call (and leave it
# up at the answerer, its BYE sent outside the route).
timeout $(( CALLS / RATE + 120 )) taskset -c 0 sipp -sf "$root/crates/client-core/tests/peers/customer_uac.xml" \
    127.0.0.1:"$front" -s bob -i 127.0.0.1 -default_behaviors all,-abortunexp \
    -p 0 -m "$CALLS" -r "$RATE" -d 1000 -l $(( RATE * 5 )) -buff_size 4194304 -nostdin -trace_stat -stf "$out/sipp.csv" \
    -timeout $(( CALLS / RATE + 60 ))s >/dev/null 2>&1 || true
run=$(( SECONDS - start ))
sleep 40
gauges=$(curl -s -m 10 "http://127.0.0.1:$metrics/metrics" | grep -E '^sipline_(calls|dialogs|transactions)_active ' || true)
python3 - "$out" "$start" "$run" "$CALLS" "$RATE" <<PY
import csv, sys
out, start, run, calls, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
rows = list(csv.reader(open(f"{out}/sipp.csv"), delimiter=';'))
head, last = rows[0], rows[-1]
g = lambda k: int(last[head.index(k)])
samples = [tuple(map(int, l.split())) for l in open(f"{out}/rss") if len(l.split()) == 2]
during = [(t - start, kb) for t, kb in samples if start <= t <= start + run]
tenth = next((kb for t, kb in during if t >= run / 10), during[0][1])
end = during[-1][1]
print(f"soak: {calls} calls offered at {rate}/s through kamailio in {run} s: {g('SuccessfulCall(C)')} completed, "
      f"{g('FailedCall(C)')} failed, {g('Retransmissions(C)')} retransmissions")
print(f"answerer RSS after the first tenth {tenth // 1024} MiB, at the end {end // 1024} MiB "
      f"({100.0 * (end - tenth) / tenth:+.1f} %), peak {max(kb for _, kb in samples) // 1024} MiB")
points = [next((kb for t, kb in during if t >= run * f / 10), end) // 1024 for f in range(1, 11)]
print("answerer RSS at each tenth of the run (MiB): " + " ".join(map(str, points)))
PY
echo "gauges 40 s after the last call:"
echo "${gauges:-  (none reported)}" | sed 's/^/  /'
