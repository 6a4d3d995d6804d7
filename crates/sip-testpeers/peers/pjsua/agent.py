#!/usr/bin/env python3
"""A pjsua2 (PJSIP 2.15) softphone driven over stdin/stdout, for sip-testpeers' `Pjsua`.

One JSON command per line on stdin, one JSON event per line on stdout (nothing else goes to
stdout: PJSIP logs to the file given with --log). Every command gets exactly one reply event,
`{"event":"ok","id":N,...}` or `{"event":"error","id":N,"message":...}`, where N is the
command's "id"; the other events come as they happen:

  ready        {"uri","port"}                       once, when the endpoint is up
  registered   {"code","reason","expires"}          REGISTER answered 2xx (expires > 0)
  unregistered {"code","reason"}                     the registration was removed
  reg_failed   {"code","reason"}                     REGISTER failed
  incoming     {"from","call_id"}                    an INVITE arrived: 180 sent (answer with
                                                     "answer"), or 200 with --auto-answer
  state        {"state","code","reason"}             CALLING/INCOMING/EARLY/CONNECTING/
                                                     CONFIRMED/DISCONNECTED (+ rx/tx packets)
  media        {"state","dir"}                       active/local_hold/remote_hold/none/error,
                                                     sendrecv/sendonly/recvonly/inactive
  stats        {"rx_packets","tx_packets"}           reply to "stats" (also in its "ok")

Commands: register {user,password,registrar}, call {uri}, answer {code}, hangup, hold,
resume, stats, quit. One call at a time: a second INVITE while a call exists gets 486.

Rules PEERS.md gives for this wheel, kept here: null audio device, noVad (else almost no RTP),
threadCnt 0 with libHandleEvents() polled from this thread (so every callback runs here),
a silent tone connected to the bridge at start (else conference slots leak), and every
Python reference to Call/Account objects dropped before libDestroy() (else it aborts).
"""

import argparse
import json
import os
import select
import sys
import time

import pjsua2 as pj

MEDIA_STATES = {
    pj.PJSUA_CALL_MEDIA_NONE: "none",
    pj.PJSUA_CALL_MEDIA_ACTIVE: "active",
    pj.PJSUA_CALL_MEDIA_LOCAL_HOLD: "local_hold",
    pj.PJSUA_CALL_MEDIA_REMOTE_HOLD: "remote_hold",
    pj.PJSUA_CALL_MEDIA_ERROR: "error",
}

CALL_STATES = {
    pj.PJSIP_INV_STATE_NULL: "NULL",
    pj.PJSIP_INV_STATE_CALLING: "CALLING",
    pj.PJSIP_INV_STATE_INCOMING: "INCOMING",
    pj.PJSIP_INV_STATE_EARLY: "EARLY",
    pj.PJSIP_INV_STATE_CONNECTING: "CONNECTING",
    pj.PJSIP_INV_STATE_CONFIRMED: "CONFIRMED",
    pj.PJSIP_INV_STATE_DISCONNECTED: "DISCONNECTED",
}


# The events' stream: the real standard output. File descriptor 1 itself is pointed at
# standard error below, so what PJSIP prints before its log config applies (libCreate's
# first lines) cannot corrupt the events.
EVENTS = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)

DIRECTIONS = {0: "inactive", 1: "sendonly", 2: "recvonly", 3: "sendrecv"}


def emit(event, **fields):
    fields["event"] = event
    EVENTS.write(json.dumps(fields) + "\n")
    EVENTS.flush()


class Agent:
    def __init__(self, args):
        self.args = args
        self.ep = None
        self.local_acc = None
        self.reg_acc = None
        self.call = None
        # The call PJSIP places for a REFER, until it is answered.
        self.transfer_call = None
        # A disconnected call, dropped by the main loop (not inside its own callback).
        self.dead_calls = []
        self.tone = None
        self.silence = None
        # A recording of what the call hears (cmd_record), completed when dropped.
        self.recorder = None
        # RTP packets (rx, tx) of the current or last call: the totals of the streams that
        # re-INVITEs replaced (PJSIP restarts a stream's counters) plus the current stream's.
        self.stats_base = (0, 0)
        self.stream_stats = (0, 0)
        self.running = True

    # --- set-up and tear-down ------------------------------------------------------------
    def start(self):
        ep = pj.Endpoint()
        ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.userAgent = "sip-testpeers pjsua2 " + ep.libVersion().full
        cfg.uaConfig.maxCalls = 4
        cfg.logConfig.level = self.args.log_level
        cfg.logConfig.consoleLevel = 0
        cfg.logConfig.filename = self.args.log
        cfg.medConfig.noVad = True
        ep.libInit(cfg)
        tcfg = pj.TransportConfig()
        tcfg.port = self.args.port
        tcfg.boundAddress = "127.0.0.1"
        tcfg.publicAddress = "127.0.0.1"
        ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        ep.libStart()
        ep.audDevManager().setNullDev()
        self.ep = ep

        # The tone every call sends, and a silent one on the bridge from the start.
        self.tone = pj.ToneGenerator()
        self.tone.createToneGenerator(8000, 1)
        self.tone.play(tone_desc(self.args.tone_hz), True)
        self.silence = pj.ToneGenerator()
        self.silence.createToneGenerator(8000, 1)
        self.silence.startTransmit(ep.audDevManager().getPlaybackDevMedia())

        # A local account (no registrar): incoming direct calls and outgoing calls before
        # any "register".
        acfg = pj.AccountConfig()
        acfg.idUri = "sip:%s@127.0.0.1:%d" % (self.args.user, self.args.port)
        self.configure_calls(acfg)
        self.configure_media(acfg)
        self.local_acc = PhoneAccount(self)
        self.local_acc.create(acfg, True)
        emit("ready", uri=acfg.idUri, port=self.args.port)

    def configure_calls(self, acfg):
        """Reliable provisional responses (RFC 3262) and session timers (RFC 4028)."""
        if self.args.require_100rel:
            # Require: 100rel in our INVITEs, and our own 1xx sent reliably.
            acfg.callConfig.prackUse = pj.PJSUA_100REL_MANDATORY
        if self.args.session_expires:
            # Session-Expires in our INVITEs and answers; Require: timer when the peer
            # supports it.
            acfg.callConfig.timerUse = pj.PJSUA_SIP_TIMER_ALWAYS
            acfg.callConfig.timerSessExpiresSec = self.args.session_expires
            acfg.callConfig.timerMinSESec = min(90, self.args.session_expires)

    def configure_media(self, acfg):
        acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
        acfg.mediaConfig.transportConfig.publicAddress = "127.0.0.1"
        if self.args.srtp:
            # PJMEDIA_SRTP_OPTIONAL (1) or _MANDATORY (2); SDES keys over plain UDP SIP are
            # allowed (PJSIP asks for TLS by default).
            acfg.mediaConfig.srtpUse = self.args.srtp
            acfg.mediaConfig.srtpSecureSignaling = 0
        if self.args.rtp_port:
            acfg.mediaConfig.transportConfig.port = self.args.rtp_port
            acfg.mediaConfig.transportConfig.portRange = 10

    def shutdown(self):
        if self.call is not None:
            try:
                self.ep.hangupAllCalls()
            except pj.Error:
                pass
            deadline = time.time() + 2
            while self.call is not None and time.time() < deadline:
                self.ep.libHandleEvents(20)
                self.reap()
        self.call = None
        self.dead_calls = []
        self.recorder = None
        for acc in (self.reg_acc, self.local_acc):
            if acc is not None:
                try:
                    acc.shutdown()
                except pj.Error:
                    pass
        self.reg_acc = None
        self.local_acc = None
        if self.tone is not None:
            self.tone = None
            self.silence = None
        self.ep.libDestroy()
        self.ep = None

    # --- the loop --------------------------------------------------------------------------
    def run(self):
        buf = b""
        stdin = sys.stdin.fileno()
        next_stats = 0.0
        while self.running:
            self.ep.libHandleEvents(10)
            self.reap()
            now = time.time()
            if self.call is not None and now >= next_stats:
                self.poll_stats()
                next_stats = now + 0.1
            ready, _, _ = select.select([stdin], [], [], 0.01)
            if not ready:
                continue
            chunk = os.read(stdin, 65536)
            if not chunk:
                # The driver went away: leave cleanly.
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    self.handle_line(line.decode("utf-8", "replace"))

    def reap(self):
        if self.dead_calls:
            self.dead_calls = []

    def reset_stats(self):
        self.stats_base = (0, 0)
        self.stream_stats = (0, 0)

    def poll_stats(self):
        try:
            st = self.call.getStreamStat(0)
        except pj.Error:
            return
        now = (st.rtcp.rxStat.pkt, st.rtcp.txStat.pkt)
        if now[0] < self.stream_stats[0] or now[1] < self.stream_stats[1]:
            # A new stream (hold/resume re-INVITE): keep what the old one counted.
            self.stats_base = (self.stats_base[0] + self.stream_stats[0], self.stats_base[1] + self.stream_stats[1])
        self.stream_stats = now

    @property
    def last_stats(self):
        return (self.stats_base[0] + self.stream_stats[0], self.stats_base[1] + self.stream_stats[1])

    # --- commands --------------------------------------------------------------------------
    def handle_line(self, line):
        try:
            cmd = json.loads(line)
        except ValueError as e:
            emit("error", id=None, message="bad JSON: %s" % e)
            return
        cid = cmd.get("id")
        name = cmd.get("cmd")
        handler = getattr(self, "cmd_" + str(name), None)
        if handler is None:
            emit("error", id=cid, cmd=name, message="unknown command")
            return
        try:
            extra = handler(cmd) or {}
            emit("ok", id=cid, cmd=name, **extra)
        except pj.Error as e:
            emit("error", id=cid, cmd=name, message="%s: %s (status %d)" % (e.title, e.reason, e.status))
        except Exception as e:  # noqa: BLE001 - reported to the driver, which fails the test
            emit("error", id=cid, cmd=name, message="%s: %s" % (type(e).__name__, e))

    def cmd_register(self, cmd):
        if self.reg_acc is not None:
            raise RuntimeError("already registered (one registering account per agent)")
        registrar = cmd["registrar"]  # "127.0.0.1:PORT"
        acfg = pj.AccountConfig()
        acfg.idUri = "sip:%s@%s" % (cmd["user"], registrar)
        acfg.regConfig.registrarUri = "sip:%s" % registrar
        acfg.regConfig.timeoutSec = int(cmd.get("expires", 600))
        acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", cmd["user"], 0, cmd["password"]))
        self.configure_calls(acfg)
        self.configure_media(acfg)
        acc = PhoneAccount(self)
        acc.create(acfg, True)
        self.reg_acc = acc
        return {"uri": acfg.idUri}

    def cmd_call(self, cmd):
        if self.call is not None:
            raise RuntimeError("a call is already up")
        acc = self.reg_acc or self.local_acc
        call = PhoneCall(self, acc)
        prm = pj.CallOpParam(True)
        self.call = call
        self.reset_stats()
        try:
            call.makeCall(cmd["uri"], prm)
        except pj.Error:
            self.call = None
            raise

    def cmd_answer(self, cmd):
        if self.call is None:
            raise RuntimeError("no call to answer")
        prm = pj.CallOpParam()
        prm.statusCode = int(cmd.get("code", 200))
        self.call.answer(prm)

    def cmd_hangup(self, cmd):
        if self.call is None:
            raise RuntimeError("no call to hang up")
        prm = pj.CallOpParam()
        code = cmd.get("code")
        if code:
            prm.statusCode = int(code)
        self.call.hangup(prm)

    def cmd_transfer(self, cmd):
        if self.call is None:
            raise RuntimeError("no call to transfer")
        # A blind transfer: REFER with Refer-To (PJSIP follows it with its NOTIFYs).
        self.call.xfer(cmd["uri"], pj.CallOpParam(True))

    def cmd_hold(self, cmd):
        if self.call is None:
            raise RuntimeError("no call to hold")
        self.call.setHold(pj.CallOpParam(True))

    def cmd_resume(self, cmd):
        if self.call is None:
            raise RuntimeError("no call to resume")
        prm = pj.CallOpParam(True)
        prm.opt.flag = pj.PJSUA_CALL_UNHOLD
        self.call.reinvite(prm)

    def cmd_dtmf(self, cmd):
        if self.call is None:
            raise RuntimeError("no call to send DTMF on")
        # RFC 4733 when negotiated (pjsua's default), else SIP INFO.
        self.call.dialDtmf(cmd["digits"])

    def cmd_record(self, cmd):
        if self.call is None:
            raise RuntimeError("no call to record")
        recorder = pj.AudioMediaRecorder()
        recorder.createRecorder(cmd["path"])
        self.call.getAudioMedia(-1).startTransmit(recorder)
        self.recorder = recorder

    def cmd_stop_record(self, cmd):
        # Dropping the recorder completes the WAV file.
        self.recorder = None

    def cmd_stats(self, cmd):
        if self.call is not None:
            self.poll_stats()
        rx, tx = self.last_stats
        emit("stats", rx_packets=rx, tx_packets=tx)
        return {"rx_packets": rx, "tx_packets": tx}

    def cmd_quit(self, cmd):
        self.running = False


def tone_desc(hz):
    d = pj.ToneDesc()
    d.freq1 = hz
    d.freq2 = 0
    d.on_msec = 1000
    d.off_msec = 0
    v = pj.ToneDescVector()
    v.append(d)
    return v


class PhoneAccount(pj.Account):
    def __init__(self, agent):
        pj.Account.__init__(self)
        self.agent = agent

    def onRegState(self, prm):
        info = self.getInfo()
        if prm.code // 100 == 2 and info.regExpiresSec > 0:
            emit("registered", code=prm.code, reason=prm.reason, expires=info.regExpiresSec)
        elif prm.code // 100 == 2:
            emit("unregistered", code=prm.code, reason=prm.reason)
        else:
            emit("reg_failed", code=prm.code, reason=prm.reason)

    def onIncomingCall(self, prm):
        agent = self.agent
        call = PhoneCall(agent, self, prm.callId)
        if agent.call is not None:
            busy = pj.CallOpParam()
            busy.statusCode = 486
            call.hangup(busy)
            agent.dead_calls.append(call)
            return
        agent.call = call
        agent.reset_stats()
        info = call.getInfo()
        emit("incoming", call_id=info.callIdString, **{"from": info.remoteUri})
        answer = pj.CallOpParam()
        answer.statusCode = 200 if agent.args.auto_answer else 180
        call.answer(answer)


class PhoneCall(pj.Call):
    def __init__(self, agent, acc, call_id=pj.PJSUA_INVALID_ID):
        pj.Call.__init__(self, acc, call_id)
        self.agent = agent
        self.acc = acc
        # Set on a call whose far end transferred us: its end is not the phone's end.
        self.transferred_away = False

    def onCallTransferRequest(self, prm):
        # A REFER: PJSIP answers 202 and calls the target with this object, which sends
        # the tone like any call; the new call becomes the phone's call once answered.
        agent = self.agent
        new_call = PhoneCall(agent, self.acc)
        prm.newCall = new_call
        agent.transfer_call = new_call
        self.transferred_away = True
        emit("transfer", target=prm.dstUri)

    def onCallState(self, prm):
        info = self.getInfo()
        state = CALL_STATES.get(info.state, str(info.state))
        fields = {"state": state, "code": info.lastStatusCode, "reason": info.lastReason}
        agent = self.agent
        if self is agent.transfer_call and info.state == pj.PJSIP_INV_STATE_CONFIRMED:
            agent.call = self
            agent.transfer_call = None
            agent.reset_stats()
        if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            if agent.call is self:
                rx, tx = agent.last_stats
                fields["rx_packets"] = rx
                fields["tx_packets"] = tx
                agent.call = None
            # Not dropped inside its own callback: the loop drops it next.
            agent.dead_calls.append(self)
            if self.transferred_away and agent.call is not None:
                emit("transferred_call_ended", code=info.lastStatusCode, reason=info.lastReason)
                return
        elif agent.call is not self:
            return
        emit("state", **fields)

    def onDtmfDigit(self, prm):
        if self.agent.call is self:
            emit("dtmf", digit=prm.digit)

    def onCallMediaState(self, prm):
        info = self.getInfo()
        for i, media in enumerate(info.media):
            if media.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            status = MEDIA_STATES.get(media.status, str(media.status))
            if media.status in (pj.PJSUA_CALL_MEDIA_ACTIVE, pj.PJSUA_CALL_MEDIA_REMOTE_HOLD):
                try:
                    self.agent.tone.startTransmit(self.getAudioMedia(i))
                except pj.Error:
                    pass
            if self.agent.call is self:
                # The old stream's last counters, before the new one restarts them.
                self.agent.poll_stats()
            emit("media", state=status, dir=DIRECTIONS.get(media.dir, str(media.dir)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True, help="UDP SIP port on 127.0.0.1")
    parser.add_argument("--user", default="pjsua", help="user part of the local account")
    parser.add_argument("--log", required=True, help="PJSIP log file")
    parser.add_argument("--log-level", type=int, default=4)
    parser.add_argument("--auto-answer", action="store_true", help="answer incoming calls with 200 at once")
    parser.add_argument("--tone-hz", type=int, default=440)
    parser.add_argument("--srtp", type=int, default=0, help="0 off, 1 optional, 2 mandatory (SDES)")
    parser.add_argument("--require-100rel", action="store_true", help="require reliable 1xx (RFC 3262)")
    parser.add_argument("--session-expires", type=int, default=0, help="use session timers with this interval (RFC 4028)")
    parser.add_argument("--rtp-port", type=int, default=0, help="RTP port, RTCP on the next (0: PJSIP's default 4000)")
    args = parser.parse_args()
    agent = Agent(args)
    try:
        agent.start()
    except pj.Error as e:
        emit("fatal", message="%s: %s (status %d)" % (e.title, e.reason, e.status))
        return 1
    agent.run()
    agent.shutdown()
    emit("bye")
    return 0


if __name__ == "__main__":
    sys.exit(main())
