#!/usr/bin/env bash
# Self-contained runner for the device machine (x86-64 Linux, NVIDIA GPU, no network).
# Source: tools/gpu/run.sh. tools/gpu/build_bundle.sh copies it into .devbundle/, and it is meant to be run from
# there (it takes the repo root to be the parent of its own directory); see tools/gpu/README.md.
#   bash .devbundle/run.sh "deno task bench:kernels --quick" "deno task bench:train"
# Needs (carried): .gl/*.deb (Vulkan/GL loaders), .devbundle/{deno.xz,denodir.tar.xz,probe.ts,run.sh}.
# Sets up /tmp/deno/deno and DENO_DIR=/tmp/denodir, probes WebGPU (falls back to the NVIDIA ICD env vars when
# no adapter is found), then runs each argument with bash -c from the repo root. Everything is logged to
# $OUT/run.log (OUT defaults to /tmp/devbundle-out) as well as stdout.
# Knobs (env): REQUIRE_GPU=1 (default: skip the commands unless the probe found a hardware adapter),
#   SKIP_GL=1 (don't dpkg -x the .gl debs into /), CMD_TIMEOUT=SECONDS (per-command timeout),
#   DENO_WEBGPU_BACKEND (default vulkan), ALLOW_GL_FALLBACK=0 (never fall back to wgpu's GL backend).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
B=.devbundle
if [ ! -e "$B/deno.xz" ]; then
  echo "FATAL: $ROOT/$B/deno.xz not found (carry .devbundle, and run .devbundle/run.sh, not tools/gpu/run.sh)" >&2
  exit 1
fi
export OUT=${OUT:-/tmp/devbundle-out}
mkdir -p "$OUT"

xzcat_() { # xz may be missing on a bare image: python3's lzma module is the fallback
  if command -v xz >/dev/null 2>&1; then xz -dc -- "$1"
  else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer, 1<<20)' "$1"; fi
}

probe() { deno run --allow-env --allow-read --allow-write="$OUT" "$B/probe.ts"; }

first_existing() { for f in "$@"; do [ -e "$f" ] && { echo "$f"; return 0; }; done; return 1; }

main() {
  local T0=$SECONDS
  echo "=== run.sh $(date -u +%FT%TZ) on $(uname -n) ($(uname -m), kernel $(uname -r)), $(nproc) cores"
  echo "=== repo $ROOT, OUT=$OUT"

  # 1. Vulkan / GL loaders
  if [ "${SKIP_GL:-0}" != 1 ]; then
    if ls .gl/*.deb >/dev/null 2>&1; then
      for f in .gl/*.deb; do dpkg -x "$f" / || echo "WARN: dpkg -x $f failed"; done
      ldconfig
    else
      echo "WARN: no .gl/*.deb here (carry .gl)"
    fi
  fi

  # 2. deno binary and DENO_DIR
  mkdir -p /tmp/deno
  if [ ! -x /tmp/deno/deno ] || [ "$(cat /tmp/deno/.stamp 2>/dev/null)" != "$(stat -c %s $B/deno.xz)" ]; then
    # shellcheck disable=SC2015 # intended: the FATAL branch runs when any step of the chain fails
    xzcat_ $B/deno.xz >/tmp/deno/deno.part && chmod +x /tmp/deno/deno.part && mv /tmp/deno/deno.part /tmp/deno/deno &&
      stat -c %s $B/deno.xz >/tmp/deno/.stamp || { echo "FATAL: could not unpack deno"; return 1; }
  fi
  if [ "$(cat /tmp/denodir/.stamp 2>/dev/null)" != "$(stat -c %s $B/denodir.tar.xz)" ]; then
    # shellcheck disable=SC2015 # intended: the FATAL branch runs when any step of the chain fails
    rm -rf /tmp/denodir && mkdir -p /tmp/denodir &&
      xzcat_ $B/denodir.tar.xz | tar -x -C /tmp/denodir && stat -c %s $B/denodir.tar.xz >/tmp/denodir/.stamp ||
      { echo "FATAL: could not unpack DENO_DIR"; return 1; }
  fi
  export PATH=/tmp/deno:$PATH DENO_DIR=/tmp/denodir DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1 NO_COLOR=1
  export DENO_WEBGPU_BACKEND=${DENO_WEBGPU_BACKEND:-vulkan}
  echo "=== $(deno --version | head -1); DENO_DIR=$DENO_DIR; setup took $((SECONDS - T0)) s"

  # 3. what the machine has
  echo "=== nvidia-smi -L"
  nvidia-smi -L 2>&1 || echo "(no nvidia-smi)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null
  echo "=== ldconfig -p | grep -i vulkan"
  ldconfig -p | grep -i vulkan || echo "(no libvulkan in ld cache)"
  echo "=== Vulkan ICD files"
  ls -l /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>/dev/null

  # 4. WebGPU probe, with the NVIDIA ICD fallback
  echo "=== WebGPU probe (DENO_WEBGPU_BACKEND=$DENO_WEBGPU_BACKEND)"
  probe; local prc=$?
  if [ $prc -eq 2 ] || [ $prc -eq 3 ]; then
    local icd egl
    icd=$(first_existing /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
      /etc/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/etc/vulkan/icd.d/nvidia_icd.json)
    egl=$(first_existing /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json /usr/share/glvnd/egl_vendor.d/10_nvidia.json)
    if [ -n "$icd" ]; then
      echo "=== no hardware adapter: retrying with VK_DRIVER_FILES=$icd __EGL_VENDOR_LIBRARY_FILENAMES=${egl:-}"
      export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
      [ -n "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
      for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
        [ -d $d ] && case ":${LD_LIBRARY_PATH:-}:" in *":$d:"*) ;; *) export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d ;; esac
      done
      probe; prc=$?
    else
      echo "=== no hardware adapter, and no nvidia_icd.json found for the fallback"
    fi
  fi
  if [ $prc -eq 2 ]; then
    echo "=== still no adapter: Vulkan loader diagnostics (VK_LOADER_DEBUG=error,warn,driver)"
    VK_LOADER_DEBUG=error,warn,driver probe 2>&1 | head -80
  fi
  if [ $prc -ne 0 ] && [ "$DENO_WEBGPU_BACKEND" = vulkan ] && [ "${ALLOW_GL_FALLBACK:-1}" != 0 ]; then
    echo "=== trying wgpu's GL backend (DENO_WEBGPU_BACKEND=gl)"
    if DENO_WEBGPU_BACKEND=gl probe; then
      export DENO_WEBGPU_BACKEND=gl; prc=0
      echo "WARNING: running on wgpu's GL (EGL) backend, NOT Vulkan: numbers are not representative"
    fi
  fi
  echo "=== probe result: rc=$prc ($( [ $prc -eq 0 ] && echo 'hardware adapter OK' || echo 'NO hardware adapter'))"
  if [ $prc -ne 0 ] && [ "${REQUIRE_GPU:-1}" = 1 ]; then
    echo "=== REQUIRE_GPU=1 and no hardware adapter: not running the commands"
    return 10
  fi

  # 5. the commands
  local i=0 worst=0 rc t
  for cmd in "$@"; do
    i=$((i + 1)); t=$SECONDS
    echo "=== [$i/$#] $cmd"
    if [ -n "${CMD_TIMEOUT:-}" ]; then timeout --kill-after=10 "$CMD_TIMEOUT" bash -c "$cmd"; rc=$?
    else bash -c "$cmd"; rc=$?; fi
    echo "=== [$i/$#] rc=$rc in $((SECONDS - t)) s: $cmd"
    [ $rc -ne 0 ] && worst=$rc
  done
  echo "=== all done in $((SECONDS - T0)) s (last nonzero rc: $worst)"
  return $worst
}

main "$@" 2>&1 | tee -a "$OUT/run.log"
exit "${PIPESTATUS[0]}"
