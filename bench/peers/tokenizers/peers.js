// Speed of the peers on one corpus, single thread, as zest-tokenize --bench measures zest:
// MB/s = bytes of the file / 1e6 / seconds encoding all its lines (loading excluded).
// Usage: RAYON_NUM_THREADS=1 node peers.js PEER TOKENIZER_DIR FILE   (PEER: hf | kitoken)
const fs = require('fs');
const path = require('path');

async function main() {
  const [peer, dir, file] = process.argv.slice(2);
  const all = fs.readFileSync(file, 'utf8');
  const bytes = fs.statSync(file).size;
  const lines = all.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let tokens = 0, seconds;
  const loadStart = process.hrtime.bigint();
  if (peer === 'hf') {
    const { Tokenizer } = require('tokenizers');
    const tok = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
    const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;
    const start = process.hrtime.bigint();
    for (let i = 0; i < lines.length; i += 4096) {
      const batch = await tok.encodeBatch(lines.slice(i, i + 4096), { addSpecialTokens: false });
      for (const e of batch) tokens += e.getIds().length;
    }
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
    report(bytes, lines.length, tokens, seconds, loadMs);
  } else if (peer === 'kitoken') {
    const { Kitoken } = require('kitoken/node');
    const tok = Kitoken.from_tokenizers(fs.readFileSync(path.join(dir, 'tokenizer.json')));
    const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;
    const start = process.hrtime.bigint();
    for (const line of lines) tokens += tok.encode(line, true).length;
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
    report(bytes, lines.length, tokens, seconds, loadMs);
  } else {
    throw new Error(`unknown peer ${peer}`);
  }
}

function report(bytes, lines, tokens, seconds, loadMs) {
  console.log(JSON.stringify({ mb_s: bytes / 1e6 / seconds, bytes, lines, tokens, seconds, load_ms: loadMs }));
}

main().catch((e) => { console.error(e); process.exit(1); });
