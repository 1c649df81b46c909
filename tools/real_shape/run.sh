#!/usr/bin/env bash
# Issue 16's acceptance run: one GASP step on a generated Qwen2.5-VL-3B-width folder (tests/fixtures/
# real_shape_checkpoint.ts: 2 LLM layers, 2 vision blocks, bf16, 2 shards, new key layout, the real tokenizer),
# measured with /usr/bin/time -v (wall time and peak RSS), then the ecosystem outputs checked and the merged
# export written as an HF folder. Usage: tools/real_shape/run.sh [WORKDIR]   (default /tmp/gasp-real-shape)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DENO="$ROOT/node_modules/.bin/deno"
WORK="${1:-/tmp/gasp-real-shape}"
mkdir -p "$WORK"
cd "$WORK"
[ -f model/config.json ] || "$DENO" run -A "$ROOT/tests/fixtures/real_shape_checkpoint.ts" model
rm -rf OUT
/usr/bin/time -v "$DENO" run --allow-read --allow-write --allow-env --allow-net=127.0.0.1 "$ROOT/tasks/train.ts" \
  --model model --max-steps 1 --out OUT 2>&1 | tee train.log
grep -E "Elapsed \(wall clock\)|Maximum resident set size" train.log
for f in adapter_config.json adapter_model.safetensors heads.safetensors; do
  [ -f "OUT/$f" ] && echo "OUT/$f ok" || { echo "OUT/$f missing"; exit 1; }
done
"$DENO" run --allow-read --allow-write --allow-env "$ROOT/tasks/export.ts" --format safetensors --model OUT --out merged
