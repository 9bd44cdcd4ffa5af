// The reference side of zest-tokenize's contract: Hugging Face tokenizers 0.23.2 reads standard
// input, splits it on '\n' only, and prints one JSON array of ids per line.
// Usage: node encode.js TOKENIZER_JSON [--add-special-tokens] < text
const { Tokenizer } = require('tokenizers');
const fs = require('fs');

async function main() {
  const [path, ...flags] = process.argv.slice(2);
  const addSpecialTokens = flags.includes('--add-special-tokens');
  const tokenizer = Tokenizer.fromFile(path);
  const lines = fs.readFileSync(0, 'utf8').split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const out = [];
  for (let i = 0; i < lines.length; i += 4096) {
    const batch = await tokenizer.encodeBatch(lines.slice(i, i + 4096), { addSpecialTokens });
    for (const e of batch) out.push(JSON.stringify(e.getIds()));
  }
  process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
}
main().catch((e) => { console.error(e); process.exit(1); });
