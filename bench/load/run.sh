#!/usr/bin/env bash
# OPTIONS load run: sipp as the client against sipline's endpoint and against kamailio, in the
# same run, on loopback. Each server is pinned to core 1 and sipp to core 0 so the figures are
# the server's. Bounded: COUNT requests at most RATE per second each.
#   bench/load/run.sh [RATE] [COUNT]
set -euo pipefail
cd "$(dirname "$0")/../.."
RATE=${1:-20000}
COUNT=${2:-200000}
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
cargo build -q --release -p sip-endpoint --example options_server
run_sipp() { # name port
    sipp -sf bench/load/options_uac.xml 127.0.0.1:"$2" -i 127.0.0.1 -p 0 -m "$COUNT" -r "$RATE" -l 50000 \
        -nostdin -buff_size 4194304 -trace_stat -stf "$out/$1.csv" -fd 1 -timeout 120s >/dev/null 2>&1 || true
    python3 - "$out/$1.csv" "$1" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=';'))
head, last = rows[0], rows[-1]
g = lambda k: last[head.index(k)]
# StartTime and CurrentTime end in epoch seconds with microseconds.
secs = float(g('CurrentTime').split('\t')[-1]) - float(g('StartTime').split('\t')[-1])
ok, failed = int(g('SuccessfulCall(C)')), int(g('FailedCall(C)'))
print(f"{sys.argv[2]:>10}: {ok} answered, {failed} failed, {ok/secs:,.0f} transactions/s, retransmissions {g('Retransmissions(C)')}")
PY
}
taskset -c 1 target/release/examples/options_server 127.0.0.1:5071 udp 2>/dev/null &
taskset -c 1 kamailio -f bench/load/kamailio-options.cfg -DD -E -m 256 -M 64 -Y "$out" >/dev/null 2>&1 &
sleep 1
echo "OPTIONS over UDP, $COUNT requests at up to $RATE/s (sipp on core 0, server on core 1)"
taskset -c 0 bash -c "$(declare -f run_sipp); out=$out COUNT=$COUNT RATE=$RATE run_sipp sipline 5071"
taskset -c 0 bash -c "$(declare -f run_sipp); out=$out COUNT=$COUNT RATE=$RATE run_sipp kamailio 5072"
