// Makes zest's committed tokenizer goldens from Hugging Face tokenizers 0.23.2 (the reference):
// an excerpt of each shared corpus plus every edge case, encoded by each shared tokenizer with
// and without special tokens, with offsets and decodes.
// Usage: node goldens.js SHARED_DIR ../../tests/data/tokenizer/golden   (npm i first; see README.md)
const { Tokenizer } = require('tokenizers');
const fs = require('fs');
const path = require('path');

const [shared, outDir] = process.argv.slice(2);
const TOKENIZERS = ['gpt2', 'bert-base-uncased', 'spm-bpe-8k', 'spm-unigram-8k', 'wordpiece-cased-8k', 'roberta-bpe-8k'];

function lines(file) {
  const all = fs.readFileSync(path.join(shared, 'corpora', file), 'utf8').split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all;
}

// The excerpt: brown's first 150 lines; multi-dev every 300th line plus six lines over 1,000
// bytes (the glued words) and 40 lines with \r, NBSP, ideographic space, zero-width space or NFD.
function excerpt() {
  const texts = lines('brown.txt').slice(0, 150).map((text, i) => ({ name: `brown:${i + 1}`, text }));
  const multi = lines('multi-dev.txt');
  const odd = /[\r\u00a0\u3000\u200b\u0300-\u036f]|^[ \t]|[ \t]$/;
  let odd_taken = 0, long_taken = 0;
  multi.forEach((text, i) => {
    const take = i % 300 === 0 || (Buffer.byteLength(text) > 1000 && long_taken++ < 6) || (odd.test(text) && odd_taken++ < 40);
    if (take) texts.push({ name: `multi-dev:${i + 1}`, text });
  });
  for (const line of lines('edge-cases.jsonl')) {
    const c = JSON.parse(line);
    texts.push({ name: `edge:${c.name}`, text: c.text });
  }
  return texts;
}

async function main() {
  const texts = excerpt();
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'texts.jsonl'), texts.map((t) => JSON.stringify(t)).join('\n') + '\n');
  for (const name of TOKENIZERS) {
    const tok = Tokenizer.fromFile(path.join(shared, 'tokenizers', name, 'tokenizer.json'));
    const rows = [];
    for (const { text } of texts) {
      const plain = await tok.encode(text, null, { addSpecialTokens: false });
      const special = await tok.encode(text, null, { addSpecialTokens: true });
      const ids = special.getIds();
      rows.push(JSON.stringify({
        ids: plain.getIds(),
        ids_special: ids,
        offsets: Buffer.byteLength(text) < 400 ? plain.getOffsets() : null,
        decoded: await tok.decode(ids, false),
        decoded_skip: await tok.decode(ids, true),
      }));
    }
    fs.writeFileSync(path.join(outDir, `${name}.jsonl`), rows.join('\n') + '\n');
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
