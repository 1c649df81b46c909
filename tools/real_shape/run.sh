#!/usr/bin/env bash
# Issue 16's acceptance run: one GASP step on a generated Qwen2.5-VL-3B-width folder (tests/fixtures/
# real_shape_checkpoint.ts: 2 LLM layers, 2 vision blocks, bf16, 2 shards, new key layout, the real tokenizer),
# measured with /usr/bin/time -v (wall time and peak RSS), then the ecosystem outputs checked (PEFT adapter, heads,
# the merged HF folder in OUT/export) and the merged export written again by `deno task export --format safetensors`.
# The default dataset is generated first when WORKDIR has none (timed apart: it is not part of training).
# Usage: tools/real_shape/run.sh [WORKDIR]   (default /tmp/gasp-real-shape)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DENO="$ROOT/node_modules/.bin/deno"
WORK="${1:-/tmp/gasp-real-shape}"
mkdir -p "$WORK"
cd "$WORK"
[ -f model/config.json ] || "$DENO" run -A "$ROOT/tests/fixtures/real_shape_checkpoint.ts" model
if [ ! -f runs/data/manifest.json ]; then
  /usr/bin/time -f "data: %e s, peak RSS %M kB" "$DENO" run --allow-read --allow-write --allow-env "$ROOT/tasks/data.ts"
fi
rm -rf OUT merged
/usr/bin/time -v "$DENO" run --allow-read --allow-write --allow-env --allow-net=127.0.0.1 "$ROOT/tasks/train.ts" \
  --model model --max-steps 1 --out OUT 2>&1 | tee train.log
grep -E "Elapsed \(wall clock\)|Maximum resident set size" train.log
for f in adapter_config.json adapter_model.safetensors heads.safetensors export/config.json \
  export/model.safetensors; do
  [ -f "OUT/$f" ] && echo "OUT/$f ok" || { echo "OUT/$f missing"; exit 1; }
done
"$DENO" run --allow-read --allow-write --allow-env "$ROOT/tasks/export.ts" --format safetensors --model OUT --out merged
cmp merged/model.safetensors OUT/export/model.safetensors && echo "merged export = OUT/export (byte for byte)"
