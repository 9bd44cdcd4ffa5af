// A bounded streaming load on an OpenAI-compatible /v1/completions (zest-server or llama-server):
// --concurrency clients, each sending its next request as soon as its last one ends, until
// --requests have been sent; every request streams --max-tokens new tokens (ignore_eos) after the
// same prompt of token ids. Prints one JSON line: aggregate generated tok/s, requests/s, time to
// first token and inter-token latency p50/p99 (ms), errors.
//   node load.mjs --url URL --concurrency N --requests R --prompt-ids 1,2,3 --max-tokens 128
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' }, concurrency: { type: 'string' }, requests: { type: 'string' },
    'prompt-ids': { type: 'string' }, 'max-tokens': { type: 'string', default: '128' },
  },
});
const prompt = opt['prompt-ids'].split(',').map(Number);
const maxTokens = Number(opt['max-tokens']);
const total = Number(opt.requests);

const ttft = [];
const itl = [];
let generated = 0;
let errors = 0;
let next = 0;

// One streamed request: the time of each chunk that carries text stands for a token's arrival;
// the token count is the usage's when the server sends one.
async function one() {
  const start = performance.now();
  const res = await fetch(`${opt.url}/v1/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true, stream: true,
      stream_options: { include_usage: true } }),
  });
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
  let buffer = '';
  let last = null;
  let chunks = 0;
  let usage = null;
  let done = false;
  for await (const bytes of res.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const data = buffer.slice(0, end).replace(/^data: /, '');
      buffer = buffer.slice(end + 2);
      if (data === '[DONE]') {
        done = true;
        continue;
      }
      const event = JSON.parse(data);
      if (event.error) throw new Error(JSON.stringify(event.error));
      if (event.usage) usage = event.usage;
      if (!event.choices?.[0]?.text) continue;
      const now = performance.now();
      if (last === null) ttft.push(now - start);
      else itl.push(now - last);
      last = now;
      chunks++;
    }
  }
  if (!done) throw new Error('the stream ended without [DONE]');
  generated += usage?.completion_tokens ?? chunks;
}

async function client() {
  while (next < total) {
    next++;
    try {
      await one();
    } catch (e) {
      errors++;
      console.error(`load.mjs: ${e.message}`);
    }
  }
}

function percentile(xs, p) {
  if (!xs.length) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

const begin = performance.now();
await Promise.all(Array.from({ length: Number(opt.concurrency) }, client));
const seconds = (performance.now() - begin) / 1000;
console.log(JSON.stringify({
  concurrency: Number(opt.concurrency), requests: total, errors, generated_tokens: generated,
  tok_s: generated / seconds, req_s: (total - errors) / seconds,
  ttft_ms_p50: percentile(ttft, 50), ttft_ms_p99: percentile(ttft, 99), itl_ms_p50: percentile(itl, 50), itl_ms_p99: percentile(itl, 99),
}));
