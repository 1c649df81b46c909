#!/usr/bin/env bash
# Installs the system ffmpeg that `deno task bench` uses to decode VSI-Bench videos into frames
# (eval/benchmarks/video_frames.ts) and that the VSI tests use to make a tiny mp4. Idempotent: does nothing if
# ffmpeg is already on PATH.
set -euo pipefail
if command -v ffmpeg >/dev/null 2>&1; then
  echo "ffmpeg already installed: $(command -v ffmpeg)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends ffmpeg
ffmpeg -version | head -n 1
