#!/usr/bin/env bash
# The call-rate ladder: sipp's built-in UAC (INVITE with SDP, 180/200, ACK, the call held
# HOLD_MS, BYE) against each answerer in turn, at each rate, in one run on loopback. sipp runs
# on core 0 and the answerer on core 1 (taskset), so the CPU and memory figures are the
# answerer's. Bounded: each step offers RATE calls/s for STEP seconds, then the answerer is
# stopped.
#
#   bench/load/ladder.sh [RATE ...]             default: 500 1000 2000 3000 4000
#   PEERS="sipline baresip pjsip" STEP=10 HOLD_MS=1000 bench/load/ladder.sh 3000 6000
#   MEDIA=inactive bench/load/ladder.sh ...   the offer says a=inactive: no RTP either way, so
#                                             the figures are signalling, SDP and port binding
#
# Answerers:
#   sipline   target/release/sipline answer (session-core, AcceptAll; each call binds an RTP
#             port pair and sends 20 ms PCMU frames)
#   baresip   baresip 1.0 auto-answer (at most 255 calls at once, a thread per call)
#   pjsip     PJSIP 2.15 built from source by bench/load/build-pjsip.sh (PJSUA_MAX_CALLS 1024,
#             epoll); set PJSIP_DIR to the pjproject tree it built. Without it the row says so.
#
# The calls are bench/load/uac_calls.xml: sipp's built-in UAC flow, with a 503 (an answerer
# refusing calls it cannot take) ACKed and counted apart from failures.
# Per step it prints: calls completed, refused and failed, sipp's retransmissions, the most calls up at
# once, the answerer's CPU (share of one core over the step) and its peak RSS.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
RATES=${*:-500 1000 2000 3000 4000}
# A peer's own list, e.g. RATES_baresip="50 100 200": no point offering thousands a second to
# an answerer that fails at hundreds.
PEERS=${PEERS:-sipline baresip pjsip}
STEP=${STEP:-10}
HOLD_MS=${HOLD_MS:-1000}
PORT=${PORT:-5091}
out=$(mktemp -d)
answerer=
cleanup() {
    [ -n "$answerer" ] && kill "$answerer" 2>/dev/null || true
    rm -rf "$out"
}
trap cleanup EXIT
command -v sipp >/dev/null || { echo "sipp is needed (scripts/install-peers)"; exit 1; }
cargo build -q --release -p sipline
tck=$(getconf CLK_TCK)
scenario=$root/bench/load/uac_calls.xml
if [ "${MEDIA:-}" = inactive ]; then
    sed 's|a=rtpmap:0 PCMU/8000|a=rtpmap:0 PCMU/8000\n      a=inactive|' "$scenario" >"$out/uac_inactive.xml"
    scenario=$out/uac_inactive.xml
fi

cpu_ticks() { # pid -> utime+stime in ticks
    awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}

start_answerer() { # peer -> sets $answerer, or returns 1 when the peer is not available
    case $1 in
        sipline)
            taskset -c 1 target/release/sipline answer --listen 127.0.0.1:"$PORT" --count 100000000 >/dev/null 2>&1 &
            answerer=$! ;;
        baresip)
            command -v baresip >/dev/null || return 1
            mkdir -p "$out/baresip"
            printf '%s\t%s\n' poll_method epoll module_path /usr/lib/baresip/modules sip_listen 127.0.0.1:"$PORT" \
                net_interface 127.0.0.1 call_max_calls 255 audio_source ausine,440 ausrc_srate 48000 \
                ausrc_channels 2 audio_player aubridge,nil audio_alert aubridge,nil rtp_ports 40000-49999 \
                rtcp_mux no module g711.so module ausine.so module aubridge.so module_tmp uuid.so \
                module_tmp account.so >"$out/baresip/config"
            echo "<sip:bob@127.0.0.1:$PORT>;regint=0;answermode=auto;audio_codecs=pcmu" >"$out/baresip/accounts"
            taskset -c 1 baresip -f "$out/baresip" >/dev/null 2>&1 &
            answerer=$! ;;
        pjsip)
            [ -n "${PJSIP_DIR:-}" ] && [ -d "$PJSIP_DIR/pjsip-apps/src/swig/python" ] || return 1
            local pydir
            pydir=$(find "$PJSIP_DIR/pjsip-apps/src/swig/python" -name '_pjsua2*.so' -printf '%h\n' | head -n1)
            [ -n "$pydir" ] || return 1
            PYTHONPATH="$pydir:$PJSIP_DIR/pjsip-apps/src/swig/python" taskset -c 1 \
                python3 "$root/bench/load/pjsua_answer.py" "$PORT" >"$out/pjsip.log" 2>&1 &
            answerer=$! ;;
    esac
    sleep 2
    kill -0 "$answerer" 2>/dev/null
}

stop_answerer() {
    kill "$answerer" 2>/dev/null || true
    wait "$answerer" 2>/dev/null || true
    answerer=
    sleep 1
}

step() { # peer rate
    local peer=$1 rate=$2 count=$(( $2 * STEP )) before after csv=$out/$1-$2.csv
    before=$(cpu_ticks "$answerer")
    local t0=$SECONDS
    taskset -c 0 sipp -sf "$scenario" 127.0.0.1:"$PORT" -s bob -i 127.0.0.1 -p 0 -mp 0 -m "$count" -r "$rate" \
        -d "$HOLD_MS" -l $(( rate * (HOLD_MS / 1000 + 3) )) -buff_size 4194304 -nostdin -trace_stat -stf "$csv" \
        -fd 1 -timeout $(( STEP + 40 ))s >/dev/null 2>&1 || true
    after=$(cpu_ticks "$answerer")
    local secs=$(( SECONDS - t0 ))
    local rss
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$answerer/status" 2>/dev/null || echo 0)
    python3 - "$csv" "$peer" "$rate" "$(( after - before ))" "$tck" "$secs" "$rss" <<'PY'
import csv, sys
path, peer, rate, ticks, tck, secs, rss = sys.argv[1:]
rows = list(csv.reader(open(path), delimiter=';'))
head, last = rows[0], rows[-1]
g = lambda k: last[head.index(k)]
ok, failed = int(g('SuccessfulCall(C)')), int(g('FailedCall(C)'))
# The scenario fails a refused (503) call on purpose with a receive timeout: refusals.
refused = int(g('FailedTimeoutOnRecv(C)'))
failed -= refused
elapsed = float(g('CurrentTime').split('\t')[-1]) - float(g('StartTime').split('\t')[-1])
up = max(int(r[head.index('CurrentCall')]) for r in rows[1:])
cpu = 100.0 * int(ticks) / int(tck) / max(float(secs), 1.0)
print(f"{peer:>8} {int(rate):>6}/s: {ok:>7} completed {refused:>6} refused (503) {failed:>6} failed in {elapsed:5.1f} s "
      f"({ok / max(elapsed, 0.001):7.0f}/s), retransmissions {int(g('Retransmissions(C)')):>6}, "
      f"up at once {up:>5}, CPU {cpu:4.0f} %, peak RSS {int(rss) // 1024} MiB")
PY
}

echo "call-rate ladder: ${STEP} s per step, calls held ${HOLD_MS} ms, media ${MEDIA:-sendrecv}; sipp on core 0, answerer on core 1"
for peer in $PEERS; do
    rates_var=RATES_$peer
    for rate in ${!rates_var:-$RATES}; do
        if ! start_answerer "$peer"; then
            case $peer in
                pjsip) echo "   pjsip: not run (build PJSIP with bench/load/build-pjsip.sh and set PJSIP_DIR)" ;;
                *) echo "$peer: not available" ;;
            esac
            answerer=
            continue 2
        fi
        step "$peer" "$rate"
        stop_answerer
    done
done
