#!/usr/bin/env bash
# Rebuilds the offline GPU bundle (.devbundle/ and .gl/, both git-ignored via .git/info/exclude) from scratch.
# Run it on a machine that can reach the npm registry (for `deno cache`) and Debian's apt mirrors (for the debs):
#   bash tools/gpu/build_bundle.sh
# Then carry [".gl", ".devbundle"] to the device machine and run `bash .devbundle/run.sh '...'` there
# (see tools/gpu/README.md). Everything is built in a staging dir first, so a failure leaves the old bundle intact.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
HERE=tools/gpu
LIMIT=$((55 * 1024 * 1024))
ENTRYPOINTS=(tasks/bench_kernels.ts tasks/bench_kernels_tfjs.ts tasks/bench_train.ts tasks/train.ts
  tasks/bench_model.ts tasks/data.ts)

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/devbundle-build.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/devbundle" "$STAGE/gl" "$STAGE/denodir"

# (a) the deno binary (node_modules/.bin/deno is a symlink: compress the real file)
DENO_BIN=$(readlink -f node_modules/.bin/deno)
echo "=== (a) $DENO_BIN ($("$DENO_BIN" --version | head -1)) -> deno.xz"
xz -9 -T2 -c "$DENO_BIN" >"$STAGE/devbundle/deno.xz"

# (b) a fresh DENO_DIR holding exactly what the benchmark/training entrypoints need, pruned
echo "=== (b) DENO_DIR for ${ENTRYPOINTS[*]}"
DENO_DIR="$STAGE/denodir" "$DENO_BIN" cache "${ENTRYPOINTS[@]}"
find "$STAGE/denodir" -type f -name '*.map' -delete
find "$STAGE/denodir" -path '*/npm/*/openai/*/src' -prune -type d -exec rm -rf {} +
for dist in "$STAGE"/denodir/npm/*/onnxruntime-web/*/dist; do
  [ -d "$dist" ] || continue
  find "$dist" -mindepth 1 -maxdepth 1 \
    ! -name ort.node.min.mjs ! -name ort.webgpu.bundle.min.mjs ! -name ort.bundle.min.mjs \
    ! -name ort-wasm-simd-threaded.mjs ! -name ort-wasm-simd-threaded.wasm \
    ! -name ort-wasm-simd-threaded.asyncify.mjs ! -name ort-wasm-simd-threaded.asyncify.wasm \
    -exec rm -rf {} +
done
tar -C "$STAGE/denodir" -cf - . | xz -9 -T2 >"$STAGE/devbundle/denodir.tar.xz"

# (c) Vulkan / GL loader debs (amd64, whatever this machine's architecture), with a private apt lists dir
echo "=== (c) .gl debs"
mkdir -p /tmp/amd64/partial
o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
apt-get "${o[@]}" update
(cd "$STAGE/gl" && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)

# (d) the runner and the probe
cp "$HERE/run.sh" "$HERE/probe.ts" "$STAGE/devbundle/"

# swap the new bundle in
rm -rf .devbundle .gl
cp -r "$STAGE/devbundle" .devbundle
cp -r "$STAGE/gl" .gl

# (e) keep both out of git
EXCLUDE=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$EXCLUDE")"
touch "$EXCLUDE"
for p in /.devbundle/ /.gl/; do
  grep -qxF "$p" "$EXCLUDE" || echo "$p" >>"$EXCLUDE"
done

# (f) size: the device tool carries at most 64 MiB in all, so stay well under
ls -l .devbundle .gl
total=$(du -cb .devbundle .gl | tail -1 | cut -f1)
echo "=== total $((total / 1024 / 1024)) MiB ($total bytes) in .devbundle + .gl"
if [ "$total" -gt "$LIMIT" ]; then
  echo "WARNING: bundle is over 55 MiB; the device tool's carry limit is 64 MiB for everything" >&2
fi
