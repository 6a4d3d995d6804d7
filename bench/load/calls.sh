#!/usr/bin/env bash
# Call load run: sipp's built-in UAC (INVITE with SDP, ACK, a pause, BYE) against a sipline
# agent (`sipline answer`, session-core: every call gets its own RTP port and sends 20 ms PCMU
# frames) and against baresip 1.0 (auto-answer, its own media), in the same run, on loopback.
# Each answerer is pinned to core 1, sipp to core 0, so the figures are the answerer's.
# Bounded: COUNT calls at most RATE per second, each held HOLD_MS.
#   bench/load/calls.sh [RATE] [COUNT] [HOLD_MS]     (LIMIT=N caps concurrent calls, default 2000)
set -euo pipefail
cd "$(dirname "$0")/../.."
RATE=${1:-50}
COUNT=${2:-1000}
HOLD_MS=${3:-1000}
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
cargo build -q --release -p sipline

run_sipp() { # name port
    sipp -sn uac 127.0.0.1:"$2" -s bob -i 127.0.0.1 -p 0 -mp 0 -m "$COUNT" -r "$RATE" -d "$HOLD_MS" -l "${LIMIT:-2000}" \
        -nostdin -trace_stat -stf "$out/$1.csv" -fd 1 -timeout 300s >/dev/null 2>&1 || true
    python3 - "$out/$1.csv" "$1" "$RATE" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=';'))
head, last = rows[0], rows[-1]
g = lambda k: last[head.index(k)]
secs = float(g('CurrentTime').split('\t')[-1]) - float(g('StartTime').split('\t')[-1])
ok, failed = int(g('SuccessfulCall(C)')), int(g('FailedCall(C)'))
print(f"{sys.argv[2]:>8}: {ok} calls completed, {failed} failed in {secs:.1f} s "
      f"(asked {sys.argv[3]}/s), retransmissions {g('Retransmissions(C)')}, "
      f"max concurrent {max(int(r[head.index('CurrentCall')]) for r in rows[1:])}")
PY
}

# sipline: answers every call (AcceptAll), stays for COUNT calls.
taskset -c 1 target/release/sipline answer --listen 127.0.0.1:5081 --count "$COUNT" >/dev/null 2>&1 &
# baresip: a local account that answers at once; 255 calls at most (its hard limit here).
mkdir -p "$out/baresip"
printf '%s\t%s\n' poll_method epoll module_path /usr/lib/baresip/modules sip_listen 127.0.0.1:5082 \
    net_interface 127.0.0.1 call_max_calls 255 audio_source ausine,440 ausrc_srate 48000 ausrc_channels 2 \
    audio_player aubridge,nil audio_alert aubridge,nil rtp_ports 40000-49999 rtcp_mux no \
    module g711.so module ausine.so module aubridge.so module_tmp uuid.so module_tmp account.so \
    >"$out/baresip/config"
echo '<sip:bob@127.0.0.1:5082>;regint=0;answermode=auto;audio_codecs=pcmu' >"$out/baresip/accounts"
taskset -c 1 baresip -f "$out/baresip" >/dev/null 2>&1 &
sleep 2
echo "calls over UDP: $COUNT calls at up to $RATE/s, each held ${HOLD_MS} ms (sipp on core 0, answerer on core 1)"
taskset -c 0 bash -c "$(declare -f run_sipp); out=$out COUNT=$COUNT RATE=$RATE HOLD_MS=$HOLD_MS run_sipp sipline 5081"
taskset -c 0 bash -c "$(declare -f run_sipp); out=$out COUNT=$COUNT RATE=$RATE HOLD_MS=$HOLD_MS run_sipp baresip 5082"
