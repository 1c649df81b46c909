// WebGPU probe for the device machine: adapter info, key limits, features, and one tiny compute dispatch.
// Exit codes: 0 = hardware adapter OK, 2 = requestAdapter() returned null, 3 = only a CPU/fallback adapter,
// 4 = adapter found but device creation or the test dispatch failed.
const out = Deno.env.get("OUT");
const lines: string[] = [];
const log = (s: string) => {
  console.log(s);
  lines.push(s);
};

async function save(extra: Record<string, unknown>) {
  if (!out) return;
  try {
    await Deno.writeTextFile(`${out}/probe.json`, JSON.stringify({ ...extra, env: envInfo() }, null, 2));
  } catch { /* OUT not writable: stdout has it all */ }
}

function envInfo() {
  const keys = [
    "DENO_WEBGPU_BACKEND",
    "VK_DRIVER_FILES",
    "VK_ICD_FILENAMES",
    "__EGL_VENDOR_LIBRARY_FILENAMES",
    "LD_LIBRARY_PATH",
  ];
  return Object.fromEntries(keys.map((k) => [k, Deno.env.get(k) ?? null]));
}

log(`probe: deno ${Deno.version.deno}, v8 ${Deno.version.v8}, env ${JSON.stringify(envInfo())}`);
if (!("gpu" in navigator) || !navigator.gpu) {
  log("probe: navigator.gpu is missing");
  await save({ ok: false, reason: "no navigator.gpu" });
  Deno.exit(2);
}
const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
if (!adapter) {
  log("probe: requestAdapter() returned null");
  await save({ ok: false, reason: "requestAdapter null" });
  Deno.exit(2);
}
// deno-lint-ignore no-explicit-any
const info = (adapter as any).info ?? {};
const infoObj = {
  vendor: info.vendor,
  architecture: info.architecture,
  device: info.device,
  description: info.description,
  subgroupMinSize: info.subgroupMinSize,
  subgroupMaxSize: info.subgroupMaxSize,
  isFallbackAdapter: info.isFallbackAdapter,
};
log(`probe: adapter ${JSON.stringify(infoObj)}`);
const limitNames = [
  "maxBufferSize",
  "maxStorageBufferBindingSize",
  "maxUniformBufferBindingSize",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxBindGroups",
  "minStorageBufferOffsetAlignment",
];
// deno-lint-ignore no-explicit-any
const limits: Record<string, number> = Object.fromEntries(limitNames.map((k) => [k, (adapter.limits as any)[k]]));
log(`probe: limits ${JSON.stringify(limits)}`);
const features = [...adapter.features].sort();
log(`probe: features ${JSON.stringify(features)}`);
for (const f of ["shader-f16", "timestamp-query", "subgroups"] as GPUFeatureName[]) {
  log(`probe:   ${f}: ${adapter.features.has(f)}`);
}

const text = `${infoObj.vendor} ${infoObj.architecture} ${infoObj.device} ${infoObj.description}`.toLowerCase();
const isCpu = infoObj.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader|softpipe|\bcpu\b/.test(text);

let dispatchOk = false;
let deviceError = "";
try {
  const want = (["shader-f16", "timestamp-query"] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({
    requiredFeatures: want,
    requiredLimits: {
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    },
  });
  const n = 1024;
  const code = `
    @group(0) @binding(0) var<storage, read_write> a: array<f32>;
    @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
      let i = id.x; if (i < ${n}u) { a[i] = a[i] * 2.0 + 1.0; }
    }`;
  const buf = device.createBuffer({
    size: n * 4,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buf, 0, Float32Array.from({ length: n }, (_, i) => i));
  const read = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: { module: device.createShaderModule({ code }), entryPoint: "main" },
  });
  const bg = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: buf } }],
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bg);
  pass.dispatchWorkgroups(n / 64);
  pass.end();
  enc.copyBufferToBuffer(buf, 0, read, 0, n * 4);
  const t0 = performance.now();
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const r = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  dispatchOk = r.every((v, i) => v === i * 2 + 1);
  log(
    `probe: test dispatch ${dispatchOk ? "OK" : "WRONG RESULT"} (${(performance.now() - t0).toFixed(1)} ms round trip)`,
  );
  if (adapter.features.has("shader-f16")) {
    const m = device.createShaderModule({
      code: `enable f16;
      @group(0) @binding(0) var<storage, read_write> a: array<f32>;
      @compute @workgroup_size(1) fn main() { let h: f16 = f16(a[0]); a[0] = f32(h * 2.0h); }`,
    });
    const info16 = await m.getCompilationInfo();
    const errs = info16.messages.filter((x) => x.type === "error");
    log(`probe: f16 shader module ${errs.length ? "FAILED: " + errs.map((e) => e.message).join("; ") : "compiles"}`);
  }
  device.destroy();
} catch (e) {
  deviceError = String(e);
  log(`probe: device/dispatch failed: ${deviceError}`);
}

const ok = !isCpu && dispatchOk;
await save({ ok, isCpu, adapter: infoObj, limits, features, dispatchOk, deviceError });
if (isCpu) {
  log("probe: WARNING: this is a CPU (software) adapter, not the GPU");
  Deno.exit(3);
}
Deno.exit(dispatchOk ? 0 : 4);
