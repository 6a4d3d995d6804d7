#!/usr/bin/env bash
# Builds PJSIP 2.15 from source for the call-rate ladder only (never for the test command):
# epoll, 1024 calls, no sound device, video or SSL, and its pjsua2 Python module.
#
#   bench/load/build-pjsip.sh PJPROJECT_DIR
#
# PJPROJECT_DIR is a tree of the public pjsip/pjproject repository at tag 2.15.1 (no package
# registry carries it; take a snapshot once). Afterwards run the ladder with
# PJSIP_DIR=PJPROJECT_DIR. Needs a C/C++ compiler, make, swig and python3-dev.
set -euo pipefail
dir=${1:?usage: bench/load/build-pjsip.sh PJPROJECT_DIR}
[ -f "$dir/configure" ] && [ -d "$dir/pjsip" ] || { echo "$dir is not a pjproject tree"; exit 1; }
if [ "$(id -u)" = 0 ] && ! command -v swig >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential swig python3-dev
fi
cat >"$dir/pjlib/include/pj/config_site.h" <<'H'
/* The call-rate ladder's build: many calls, many sockets, epoll. */
#define PJSUA_MAX_CALLS 1024
#define PJ_IOQUEUE_MAX_HANDLES 8192
#define PJSIP_MAX_TSX_COUNT 65535
#define PJSIP_MAX_DIALOG_COUNT 65535
#define PJSUA_MAX_PLAYERS 32
#define PJMEDIA_CONF_USE_SWITCH_BOARD 0
H
cd "$dir"
./configure --enable-epoll --disable-video --disable-sound --disable-ssl --disable-opencore-amr \
    --disable-silk --disable-opus --disable-bcg729 --disable-libyuv --disable-libwebrtc \
    --disable-ffmpeg --disable-v4l2 --disable-openh264 --disable-sdl CFLAGS="-O2 -fPIC" >/dev/null
make dep >/dev/null
make -j"$(nproc)" >/dev/null
make -C pjsip-apps/src/swig/python >/dev/null
echo "built: run the ladder with PJSIP_DIR=$dir"
