import assert from "node:assert/strict";
import { GpuContext, initGpu } from "../../../core/runtime.ts";

const NoGpuAdapterErrorName = "NoGpuAdapterError";

// Runs a tiny program in a subprocess whose navigator.gpu is missing or yields no adapter, and checks that the
// runtime fails fast with NoGpuAdapterError and its how-to-fix message (not a hang, not a TypeError).
async function probe(mode: "missing" | "null"): Promise<{ code: number; out: string; ms: number }> {
  const src = `
    ${
    mode === "missing"
      ? 'Object.defineProperty(navigator, "gpu", { value: undefined });'
      : "navigator.gpu.requestAdapter = async () => null;"
  }
    const { initGpu } = await import(${JSON.stringify(new URL("../../../core/runtime.ts", import.meta.url).href)});
    try { await initGpu(); console.log("UNEXPECTED: got an adapter"); Deno.exit(0); }
    catch (e) { console.log(e.name + ": " + e.message); Deno.exit(7); }
  `;
  const t0 = performance.now();
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", src],
    stdout: "piped",
    stderr: "piped",
  });
  const res = await cmd.output();
  return {
    code: res.code,
    out: new TextDecoder().decode(res.stdout) + new TextDecoder().decode(res.stderr),
    ms: performance.now() - t0,
  };
}

for (const mode of ["missing", "null"] as const) {
  Deno.test(`initGpu fails fast with NoGpuAdapterError when navigator.gpu is ${mode === "missing" ? "absent" : "adapterless"}`, async () => {
    const r = await probe(mode);
    assert.equal(r.code, 7, r.out);
    assert.match(r.out, new RegExp(`^${NoGpuAdapterErrorName}: No WebGPU adapter is available`));
    assert.match(r.out, /mesa/i, "the message says how to get a software adapter");
    assert.ok(r.ms < 20000, `took ${r.ms} ms`);
  });
}

Deno.test("the context requests the adapter's limits, not WebGPU's defaults", async () => {
  const ctx = await initGpu();
  assert.equal(ctx, GpuContext.current());
  const adapter = ctx.adapter;
  assert.equal(ctx.limits.maxComputeWorkgroupStorageSize, adapter.limits.maxComputeWorkgroupStorageSize);
  assert.equal(ctx.limits.maxStorageBufferBindingSize, adapter.limits.maxStorageBufferBindingSize);
  assert.equal(ctx.hasF16, adapter.features.has("shader-f16"));
});

Deno.test("timestamp profiling attributes GPU time to the pipelines that ran", async () => {
  const { full, matmulRaw, tidy } = await import("../../../core/runtime.ts");
  const ctx = await initGpu();
  if (!ctx.startProfiling()) {
    assert.equal(ctx.hasTimestamps, false, "profiling refused although the adapter has timestamp-query");
    return;
  }
  tidy(() => {
    const a = full([64, 64], 1); // the fill kernel
    matmulRaw(a, a);
    matmulRaw(a, a);
  });
  const rows = await ctx.stopProfiling();
  const fill = rows.find((r) => r.label === "fill");
  const mm = rows.find((r) => r.label.startsWith("matmul"));
  assert.ok(fill && fill.count === 1, JSON.stringify(rows));
  assert.ok(mm && mm.count === 2 && mm.ms >= 0, JSON.stringify(rows));
});
