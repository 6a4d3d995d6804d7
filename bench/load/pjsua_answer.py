#!/usr/bin/env python3
"""An answering agent on PJSIP's pjsua2, for the call-rate ladder (bench/load/ladder.sh).

Answers every incoming call with 200 and sends a tone on it (so each call carries RTP, as
sipline's and baresip's do), and forgets calls once they are disconnected. Runs on one thread:
threadCnt 0 and libHandleEvents polled here, so every callback runs on this thread.

Needs a pjsua2 module built from source with PJSUA_MAX_CALLS 1024 (bench/load/build-pjsip.sh);
the PyPI wheel is capped at 4 calls.

    python3 bench/load/pjsua_answer.py PORT
"""
import signal
import sys

import pjsua2 as pj

running = True


def stop(*_):
    global running
    running = False


class Call(pj.Call):
    def __init__(self, agent, acc, call_id):
        pj.Call.__init__(self, acc, call_id)
        self.agent = agent

    def onCallState(self, prm):
        if self.getInfo().state == pj.PJSIP_INV_STATE_DISCONNECTED:
            # Not dropped inside its own callback: the loop drops it next.
            self.agent.dead.append(self)
            self.agent.calls.discard(self)

    def onCallMediaState(self, prm):
        info = self.getInfo()
        for i, media in enumerate(info.media):
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                try:
                    self.agent.tone.startTransmit(self.getAudioMedia(i))
                except pj.Error:
                    pass


class Account(pj.Account):
    def __init__(self, agent):
        pj.Account.__init__(self)
        self.agent = agent

    def onIncomingCall(self, prm):
        call = Call(self.agent, self, prm.callId)
        self.agent.calls.add(call)
        answer = pj.CallOpParam()
        answer.statusCode = 200
        call.answer(answer)


class Agent:
    def __init__(self, port):
        self.calls = set()
        self.dead = []
        ep = pj.Endpoint()
        ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.maxCalls = 1024
        cfg.logConfig.level = 0
        cfg.logConfig.consoleLevel = 0
        cfg.medConfig.noVad = True
        ep.libInit(cfg)
        tcfg = pj.TransportConfig()
        tcfg.port = port
        tcfg.boundAddress = "127.0.0.1"
        ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        ep.libStart()
        ep.audDevManager().setNullDev()
        self.ep = ep
        tone = pj.ToneDesc()
        tone.freq1, tone.freq2, tone.on_msec, tone.off_msec = 440, 0, 10000, 0
        tones = pj.ToneDescVector()
        tones.append(tone)
        self.tone = pj.ToneGenerator()
        self.tone.createToneGenerator(8000, 1)
        self.tone.play(tones, True)
        # Something on the bridge from the start, or conference slots leak (PEERS.md).
        self.tone.startTransmit(ep.audDevManager().getPlaybackDevMedia())
        acfg = pj.AccountConfig()
        acfg.idUri = "sip:bob@127.0.0.1:%d" % port
        self.acc = Account(self)
        self.acc.create(acfg, True)

    def run(self):
        while running:
            self.ep.libHandleEvents(10)
            self.dead.clear()
        self.calls.clear()
        self.dead.clear()
        self.acc.shutdown()
        self.acc = None
        self.tone = None
        self.ep.libDestroy()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    Agent(int(sys.argv[1])).run()
