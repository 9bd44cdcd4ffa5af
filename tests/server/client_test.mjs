// zest-server driven by the official openai client (and raw HTTP for what a client would not send).
//   node client_test.mjs --server BIN --generate BIN --embed BIN --encoder DIR [--model DIR]
//       starts its own servers on loopback ports: the client suite, every fault case, embeddings,
//       SIGTERM
//   node client_test.mjs --url URL --generate BIN [--model DIR]
//       the client suite alone against a server already running (tests/server/nginx_test.sh)
// The generated text must equal `zest-generate --greedy`'s for the same prompt. Prints one line per
// case and exits non-zero if any failed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { startServer } from './server.mjs';

const { values: opt } = parseArgs({
  options: {
    server: { type: 'string' }, generate: { type: 'string' }, embed: { type: 'string' },
    encoder: { type: 'string' }, model: { type: 'string' }, url: { type: 'string' },
  },
});
assert.ok(opt.generate && (opt.url || (opt.server && opt.embed && opt.encoder)), 'see the usage at the top of client_test.mjs');
const modelArgs = opt.model ? ['--model', opt.model] : [];
const threads = ['--threads', '2'];

let failed = 0;
async function test(name, body) {
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
  }
}

// ---- helpers ----

const completionCase = { prompt: 'The committee met on Tuesday and', maxTokens: 24 };
// The demo model ends this answer with its end of turn before the limit: finish_reason "stop".
const chatCase = { system: 'In the morning the', prompt: 'and then', maxTokens: 20 };
const chatMessages = [{ role: 'system', content: chatCase.system }, { role: 'user', content: chatCase.prompt }];

function greedy({ prompt, system, maxTokens }) {
  const args = [...modelArgs, ...threads, '--greedy', '--json', '--max-new-tokens', String(maxTokens), '--prompt', prompt];
  if (system) args.push('--chat', '--system', system);
  const out = JSON.parse(execFileSync(opt.generate, args, { encoding: 'utf8' }).trim().split('\n').pop());
  return { ...out, finish: out.stop_reason === 'length' ? 'length' : 'stop' };
}

function client(url, apiKey = 'unused') {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0, timeout: 60000 });
}

async function post(url, path, body, headers = {}) {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

// OpenAI's error object, naming `param`.
function assertError(r, status, param, code) {
  assert.equal(r.status, status, r.text);
  const e = r.json?.error;
  assert.ok(e && typeof e.message === 'string' && e.message.length > 0, r.text);
  for (const key of ['type', 'param', 'code']) assert.ok(key in e, `no "${key}" in ${r.text}`);
  assert.equal(e.param, param, r.text);
  if (code !== undefined) assert.equal(e.code, code, r.text);
}

async function metrics(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { text, value };
}

async function until(what, check, ms = 10000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Reads an SSE response: every event's JSON, and whether [DONE] came last. `onEvent` may return
// false to stop reading (the caller aborts).
async function readEvents(res, onEvent = () => true) {
  const events = [];
  let buffer = '';
  let done = false;
  const decoder = new TextDecoder();
  for await (const bytes of res.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      assert.ok(event.startsWith('data: '), `not an SSE data line: ${event}`);
      const data = event.slice(6);
      if (data === '[DONE]') {
        done = true;
        continue;
      }
      assert.ok(!done, 'an event after [DONE]');
      events.push(JSON.parse(data));
      if (onEvent(events.at(-1)) === false) return { events, done };
    }
  }
  return { events, done };
}

function streamRequest(url, body, signal, headers = {}) {
  return fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ ...body, stream: true }),
    signal,
  });
}

// ---- the client suite: what any OpenAI client does ----

async function clientSuite(url) {
  const api = client(url);
  const model = (await api.models.list()).data[0].id;
  const completion = greedy(completionCase);
  const chat = greedy(chatCase);
  assert.ok(completion.text.length > 0 && chat.text.length > 0, 'zest-generate gave no text');

  await test('models: one model', async () => {
    const list = await api.models.list();
    assert.equal(list.data.length, 1);
    assert.equal(list.data[0].object, 'model');
  });

  await test('completions = zest-generate --greedy', async () => {
    const r = await api.completions.create({ model, prompt: completionCase.prompt, max_tokens: completionCase.maxTokens, temperature: 0 });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0].text, completion.text);
    assert.equal(r.choices[0].finish_reason, completion.finish);
    assert.deepEqual(r.usage, {
      prompt_tokens: completion.prompt_tokens,
      completion_tokens: completion.new_tokens,
      total_tokens: completion.prompt_tokens + completion.new_tokens,
    });
  });

  await test('streaming completions = zest-generate --greedy', async () => {
    const stream = await api.completions.create({
      model, prompt: completionCase.prompt, max_tokens: completionCase.maxTokens, temperature: 0, stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish = null;
    let usage = null;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'text_completion');
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        text += choice.text;
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    }
    assert.equal(text, completion.text);
    assert.equal(finish, completion.finish);
    assert.equal(usage?.completion_tokens, completion.new_tokens);
  });

  await test('chat = zest-generate --chat --greedy', async () => {
    const r = await api.chat.completions.create({ model, messages: chatMessages, max_tokens: chatCase.maxTokens, temperature: 0 });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(r.choices[0].message.content, chat.text);
    assert.equal(r.choices[0].finish_reason, chat.finish);
    assert.equal(r.usage.prompt_tokens, chat.prompt_tokens);
    assert.equal(r.usage.completion_tokens, chat.new_tokens);
  });

  await test('streaming chat = zest-generate --chat --greedy', async () => {
    const stream = await api.chat.completions.create({
      model, messages: chatMessages, max_completion_tokens: chatCase.maxTokens, temperature: 0, stream: true,
    });
    let text = '';
    let role = null;
    let finish = null;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      const choice = chunk.choices[0];
      role ??= choice.delta.role;
      text += choice.delta.content ?? '';
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    assert.equal(role, 'assistant');
    assert.equal(text, chat.text);
    assert.equal(finish, chat.finish);
  });

  await test('stop strings and max_tokens', async () => {
    const words = completion.text.trim().split(' ');
    const stop = ` ${words[2]}`;
    const r = await api.completions.create({ model, prompt: completionCase.prompt, max_tokens: 24, temperature: 0, stop: [stop] });
    assert.equal(r.choices[0].text, completion.text.slice(0, completion.text.indexOf(stop)));
    assert.equal(r.choices[0].finish_reason, 'stop');
    const short = await api.completions.create({ model, prompt: completionCase.prompt, max_tokens: 3, temperature: 0 });
    assert.equal(short.usage.completion_tokens, 3);
    assert.equal(short.choices[0].finish_reason, 'length');
  });

  await test('sampling with a seed repeats', async () => {
    const ask = () => api.completions.create({ model, prompt: 'In the morning', max_tokens: 16, temperature: 0.9, top_p: 0.95, seed: 7 });
    assert.equal((await ask()).choices[0].text, (await ask()).choices[0].text);
  });
  return model;
}

// ---- faults: each a 4xx with OpenAI's error object naming the field ----

async function faultSuite(url, model) {
  const api = client(url);
  const long = 'the jury said that the city '.repeat(60);

  await test('malformed JSON -> 400', async () => {
    assertError(await post(url, '/v1/chat/completions', '{"messages": [{"role": "user",'), 400, null);
    assertError(await post(url, '/v1/completions', '[1, 2]'), 400, null);
  });
  await test('wrong types -> 400 naming the field', async () => {
    const bad = [
      [{ prompt: 'x', max_tokens: 'ten' }, 'max_tokens'],
      [{ prompt: 'x', temperature: 'hot' }, 'temperature'],
      [{ prompt: 'x', top_p: 1.5 }, 'top_p'],
      [{ prompt: 'x', stop: 5 }, 'stop'],
      [{ prompt: 'x', stream: 'yes' }, 'stream'],
      [{ prompt: 'x', seed: 1.5 }, 'seed'],
      [{ prompt: 'x', n: 2 }, 'n'],
      [{ prompt: { text: 'x' } }, 'prompt'],
      [{}, 'prompt'],
    ];
    for (const [body, param] of bad) assertError(await post(url, '/v1/completions', body), 400, param);
    assertError(await post(url, '/v1/chat/completions', { messages: 'hi' }), 400, 'messages');
    assertError(await post(url, '/v1/chat/completions', { messages: [{ role: 'user', content: 5 }] }), 400, 'messages[0].content');
    await assert.rejects(api.chat.completions.create({ model, messages: chatMessages, max_tokens: 'ten' }),
      (e) => e.status === 400 && e.param === 'max_tokens');
  });
  await test('unknown model -> 400', async () => {
    await assert.rejects(api.chat.completions.create({ model: 'gpt-4o', messages: chatMessages }),
      (e) => e.status === 400 && e.param === 'model' && e.code === 'model_not_found');
  });
  await test('prompt longer than the context -> 400', async () => {
    assertError(await post(url, '/v1/completions', { prompt: long, max_tokens: 1 }), 400, 'prompt', 'context_length_exceeded');
    assertError(await post(url, '/v1/chat/completions', { messages: [{ role: 'user', content: long }] }), 400, 'messages',
      'context_length_exceeded');
  });
  await test('max_tokens beyond the limits -> 400', async () => {
    assertError(await post(url, '/v1/completions', { prompt: 'x', max_tokens: 0 }), 400, 'max_tokens');
    assertError(await post(url, '/v1/completions', { prompt: 'x', max_tokens: 1e9 }), 400, 'max_tokens');
    assertError(await post(url, '/v1/chat/completions', { messages: chatMessages, max_completion_tokens: 250 }), 400,
      'max_completion_tokens', 'context_length_exceeded');
  });
  await test('body over the size limit -> 413', async () => {
    const r = await post(url, '/v1/completions', JSON.stringify({ prompt: 'x'.repeat(9 << 20) }));
    assertError(r, 413, null);
  });
  await test('no such route -> 404; a decoder has no embeddings -> 400', async () => {
    assertError(await post(url, '/v1/nothing', {}), 404, null);
    assertError(await post(url, '/v1/embeddings', { input: 'x' }), 400, 'model', 'model_not_supported');
  });
}

// A client that goes away mid-stream: its request is cancelled and its KV blocks freed.
async function disconnectCase(url) {
  await test('disconnect mid-stream cancels and frees KV blocks', async () => {
    const before = (await metrics(url)).value('zest_requests_cancelled_total');
    const abort = new AbortController();
    const res = await streamRequest(url, { prompt: 'The jury said', max_tokens: 240, temperature: 0 }, abort.signal);
    assert.equal(res.status, 200);
    await readEvents(res, (event) => event.choices[0].text === '').catch(() => {});
    abort.abort();
    await until('the request to end', async () => {
      const m = await metrics(url);
      return m.value('zest_requests_running') === 0 && m.value('zest_requests_waiting') === 0;
    });
    const m = await metrics(url);
    assert.equal(m.value('zest_kv_blocks_used'), 0, m.text);
    assert.equal(m.value('zest_requests_cancelled_total'), before + 1, m.text);
  });
}

// --api-key, --max-queue and SIGTERM past --timeout-s on a server with a batch of one.
async function limitsCase() {
  const key = 'sk-zest-test-key';
  const server = await startServer(opt.server, [...modelArgs, ...threads, '--max-batch', '1', '--max-queue', '1', '--api-key', key,
    '--timeout-s', '0']);
  const url = server.url;
  const auth = { Authorization: `Bearer ${key}` };
  try {
    await test('--api-key: missing or wrong key -> 401', async () => {
      assertError(await post(url, '/v1/completions', { prompt: 'x' }), 401, null, 'invalid_api_key');
      assertError(await post(url, '/v1/completions', { prompt: 'x' }, { Authorization: 'Bearer sk-wrong' }), 401, null, 'invalid_api_key');
      await assert.rejects(client(url, key.slice(0, -1)).models.list(), (e) => e.status === 401);
      assert.equal((await client(url, key).models.list()).data.length, 1);
      assert.equal((await fetch(`${url}/health`)).status, 200);
    });
    await test('full queue -> 429', async () => {
      const body = { prompt: 'The jury said', max_tokens: 200, temperature: 0 };
      const results = await Promise.all(Array.from({ length: 8 }, () => post(url, '/v1/completions', body, auth)));
      const statuses = results.map((r) => r.status);
      assert.ok(statuses.every((s) => s === 200 || s === 429), statuses.join());
      assert.ok(statuses.includes(429) && statuses.includes(200), statuses.join());
      assertError(results.find((r) => r.status === 429), 429, null, 'queue_full');
    });
    await test('SIGTERM past --timeout-s cancels the requests in flight, exits 0', async () => {
      const body = { prompt: 'The jury said', max_tokens: 200, temperature: 0 };
      const first = await streamRequest(url, body, undefined, auth);
      const queued = streamRequest(url, body, undefined, auth).catch(() => {});
      const reading = readEvents(first);
      await until('a request in the batch', async () => (await metrics(url)).value('zest_requests_running') === 1);
      const { code, ms } = await server.stop();
      assert.equal(code, 0);
      assert.ok(ms < 5000, `took ${ms} ms to exit`);
      const { events, done } = await reading;
      assert.ok(done, 'no [DONE]');
      assert.equal(events.at(-1).choices[0].finish_reason, 'length');
      await assert.rejects(fetch(`${url}/health`));  // nothing listens any more
      await queued;
    });
  } finally {
    server.proc.kill('SIGKILL');
  }
}

async function embeddingsCase() {
  const server = await startServer(opt.server, ['--model', opt.encoder, ...threads]);
  const url = server.url;
  try {
    const texts = ['The jury said', 'In the morning the city council met.'];
    const reference = execFileSync(opt.embed, ['--model', opt.encoder, ...threads], { input: texts.join('\n') + '\n', encoding: 'utf8' })
      .trim().split('\n').map((line) => JSON.parse(line));
    const close = (got, want) => {
      assert.equal(got.length, want.length);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-5, `value ${i}: ${got[i]} != ${want[i]}`);
    };
    const api = client(url);
    const model = (await api.models.list()).data[0].id;
    await test('embeddings = zest-embed (the client asks for base64)', async () => {
      const r = await api.embeddings.create({ model, input: texts });
      assert.equal(r.object, 'list');
      assert.equal(r.data.length, 2);
      r.data.forEach((d, i) => {
        assert.equal(d.index, i);
        close(d.embedding, reference[i]);
      });
      assert.ok(r.usage.prompt_tokens > 0);
    });
    await test('embeddings: float and base64 little-endian f32', async () => {
      const f = await post(url, '/v1/embeddings', { input: texts[0], encoding_format: 'float' });
      close(f.json.data[0].embedding, reference[0]);
      const b = await post(url, '/v1/embeddings', { input: [texts[0]], encoding_format: 'base64' });
      const bytes = Buffer.from(b.json.data[0].embedding, 'base64');
      const values = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(4 * i));
      close(values, reference[0]);
      const d = await post(url, '/v1/embeddings', { input: texts[0], encoding_format: 'float', dimensions: 8 });
      close(d.json.data[0].embedding, reference[0].slice(0, 8));
    });
    await test('embeddings: bad input -> 400; an encoder does not generate -> 400', async () => {
      assertError(await post(url, '/v1/embeddings', { input: 5 }), 400, 'input');
      assertError(await post(url, '/v1/embeddings', { input: [] }), 400, 'input');
      assertError(await post(url, '/v1/embeddings', { input: 'x', encoding_format: 'hex' }), 400, 'encoding_format');
      assertError(await post(url, '/v1/embeddings', { input: 'x', dimensions: 100000 }), 400, 'dimensions');
      assertError(await post(url, '/v1/chat/completions', { messages: chatMessages }), 400, 'model', 'model_not_supported');
    });
    await test('encoder server: SIGTERM -> exit 0', async () => assert.equal((await server.stop()).code, 0));
  } finally {
    server.proc.kill('SIGKILL');
  }
}

// SIGTERM with time to spare: the stream in flight finishes whole, the server exits 0.
async function drainCase(server) {
  await test('SIGTERM lets the stream in flight finish, exits 0', async () => {
    const res = await streamRequest(server.url, { prompt: 'The jury said', max_tokens: 200, temperature: 0, stream_options: { include_usage: true } });
    let stopping;
    const { events, done } = await readEvents(res, (event) => {
      stopping ??= server.stop();
    });
    assert.ok(done, 'no [DONE]');
    assert.equal(events.at(-1).usage.completion_tokens, 200);
    assert.equal((await stopping).code, 0);
  });
}

if (opt.url) {
  await clientSuite(opt.url);
} else {
  const server = await startServer(opt.server, [...modelArgs, ...threads]);
  try {
    const model = await clientSuite(server.url);
    await faultSuite(server.url, model);
    await disconnectCase(server.url);
    await limitsCase();
    await embeddingsCase();
    await drainCase(server);
  } finally {
    server.proc.kill('SIGKILL');
  }
}
console.log(failed ? `zest-server tests: ${failed} FAILED` : 'zest-server tests: all passed');
process.exit(failed ? 1 : 0);
