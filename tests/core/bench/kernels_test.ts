/**
 * The kernel benchmark's `--repeat` plumbing: timeMedian's per-call division, every engine receiving the
 * repeat count (warm-up included), and a real tiny run (matmul 16³, repeat 3) of ours and ORT WASM reporting finite ms.
 */
import assert from "node:assert/strict";
import { type BenchCase, formatTable, runKernelBenchmark } from "../../../core/bench/kernels.ts";
import { ortPeer, peerGraphs } from "../../../core/bench/onnx_peers.ts";
import { timeMedian } from "../../../core/bench/timing.ts";

Deno.test("timeMedian passes the repeat count to every call (warm-up too) and reports ms per call", async () => {
  const calls: number[] = [];
  let clock = 0;
  const realNow = performance.now;
  performance.now = () => clock;
  try {
    const t = await timeMedian((n) => {
      calls.push(n);
      clock += 10 * n; // 10 ms per op call
      return Promise.resolve();
    }, { warmup: 2, runs: 3, repeat: 4 });
    assert.deepEqual(calls, [4, 4, 4, 4, 4]);
    assert.equal(t.repeat, 4);
    assert.equal(t.ms, 10);
  } finally {
    performance.now = realNow;
  }
  await assert.rejects(() => timeMedian(() => Promise.resolve(), { warmup: 0, runs: 1, repeat: 0 }), /--repeat/);
});

Deno.test({
  name: "bench:kernels with repeat 3 on matmul 16³: ours and ORT WASM report finite ms; rows and table say repeat 3",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cases: BenchCase[] = [{ op: "matmul", dims: [16, 16, 16] }];
    const seen: number[] = [];
    const report = await runKernelBenchmark({
      quick: true,
      cases,
      repeat: 3,
      // A stand-in peer that records what it is asked to run: the harness must hand every engine the same count.
      extraPeers: [{
        engine: "tfjs-wasm",
        prepare: () =>
          Promise.resolve({
            run: (n: number) => (seen.push(n), Promise.resolve()),
            release: () => Promise.resolve(),
          }),
      }],
    });
    // a warm-up, then as many samples as fit the quick budget (an instant stand-in: the 7 at most)
    assert.deepEqual(seen, new Array(8).fill(3), "warm-up and each timed sample get repeat 3");
    assert.equal(report.repeat, 3);
    for (const engine of ["ours-webgpu", "ort-wasm"] as const) {
      const row = report.rows.find((r) => r.engine === engine);
      assert.ok(row, engine);
      assert.equal(row.error, undefined, `${engine}: ${row.error}`);
      assert.ok(Number.isFinite(row.ms) && row.ms > 0, `${engine} ms ${row.ms}`);
      assert.ok(Number.isFinite(row.gflops!) && row.gflops! > 0, `${engine} gflops ${row.gflops}`);
    }
    assert.ok(report.rows.every((r) => r.repeat === 3));
    assert.match(report.table.split("\n")[0], /repeat 3 \(3 op calls per sample, one sync each; ms is per call\)/);
    assert.match(formatTable("x", [], 1).split("\n")[0], /^adapter: x · repeat 1 /);
  },
});

Deno.test({
  name: "ortPeer (wasm) run(3) executes three runs and releases cleanly",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const peer = await ortPeer(peerGraphs.matmul(16, 16, 16), "wasm");
    try {
      const t = await timeMedian((n) => peer.run(n), { warmup: 1, runs: 2, repeat: 3 });
      assert.ok(Number.isFinite(t.ms) && t.ms >= 0);
    } finally {
      await peer.release();
    }
  },
});
