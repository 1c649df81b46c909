/**
 * Device selection (`--device auto|wasm|webgpu`): auto takes WASM when there is no WebGPU adapter or only a
 * software one, and says why; each choice is printed once. Run in subprocesses, each with its own navigator.gpu.
 */
import assert from "node:assert/strict";

async function probe(prelude: string, device: string): Promise<{ code: number; out: string }> {
  const src = `${prelude}
    const { initDevice } = await import(${JSON.stringify(new URL("../../core/device_init.ts", import.meta.url).href)});
    const { Tensor } = await import(${JSON.stringify(new URL("../../core/runtime.ts", import.meta.url).href)});
    const info = await initDevice({ device: ${JSON.stringify(device)}, threads: 1 });
    const t = Tensor.from([1, 2], [2]);
    console.log("RESULT", info.device, t.device, info.reason);
    Deno.exit(0);`;
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", "--config", new URL("../../deno.json", import.meta.url).pathname, src],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: res.code, out: new TextDecoder().decode(res.stdout) + new TextDecoder().decode(res.stderr) };
}

Deno.test("auto picks WASM when navigator.gpu is missing, and prints why", async () => {
  const r = await probe('Object.defineProperty(navigator, "gpu", { value: undefined });', "auto");
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /RESULT wasm wasm auto: no WebGPU adapter -> wasm/);
  assert.match(r.out, /device: wasm \(auto: no WebGPU adapter -> wasm; 1 thread, SIMD128/);
});

Deno.test("auto picks WASM on a software adapter and WebGPU on a hardware one", async () => {
  const fake = (description: string) =>
    `navigator.gpu.requestAdapter = async () => ({ info: { description: ${JSON.stringify(description)} } });`;
  const soft = await probe(fake("llvmpipe (LLVM 15.0.6, 256 bits)"), "auto");
  assert.match(soft.out, /RESULT wasm wasm auto: llvmpipe is a software adapter -> wasm/, soft.out);
  const hard = await probe(
    `${fake("NVIDIA H100")} navigator.gpu.requestAdapter = ((f) => async (o) =>
    (globalThis.__n = (globalThis.__n ?? 0) + 1) === 1 ? f(o) : null)(navigator.gpu.requestAdapter);`,
    "auto",
  );
  // The fake hardware adapter is chosen (WebGPU, not WASM); creating its device then fails fast with
  // NoGpuAdapterError, as the second requestAdapter call yields nothing.
  assert.match(
    hard.out,
    /NoGpuAdapterError: No WebGPU adapter is available \(navigator.gpu.requestAdapter\(\) returned null\)/,
  );
  assert.doesNotMatch(hard.out, /RESULT wasm/);
});

Deno.test("--device wasm works without any WebGPU adapter", async () => {
  const r = await probe('Object.defineProperty(navigator, "gpu", { value: undefined });', "wasm");
  assert.match(r.out, /RESULT wasm wasm --device wasm/, r.out);
});
