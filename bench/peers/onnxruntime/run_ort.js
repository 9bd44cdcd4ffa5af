// ONNX Runtime (onnxruntime-node, CPU, fp32) on the benchmark's BERT: median wall time of
// `reps` runs of batch x length random ids, after warm-up runs.
//   node run_ort.js MODEL.onnx THREADS REPS BATCHxLEN...   prints one JSON object per shape
const ort = require('onnxruntime-node');

async function main() {
  const [model, threads, reps, ...shapes] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads), interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
  });
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  for (const shape of shapes) {
    const [batch, len] = shape.split('x').map(Number);
    const n = batch * len;
    const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt(i % len === 0 ? 101 : 1000 + random() % 29000));
    const feeds = {
      input_ids: new ort.Tensor('int64', ids, [batch, len]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [batch, len]),
      token_type_ids: new ort.Tensor('int64', new BigInt64Array(n), [batch, len]),
    };
    for (let i = 0; i < 2; ++i) await session.run(feeds);
    const ms = [];
    for (let i = 0; i < Number(reps); ++i) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    ms.sort((a, b) => a - b);
    const median = ms[Math.floor(ms.length / 2)];
    console.log(JSON.stringify({ peer: `onnxruntime-node ${ort.env.versions.common}`, batch, len, threads: Number(threads),
                                 reps: ms.length, median_ms: median, seq_per_s: batch / (median / 1000) }));
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
