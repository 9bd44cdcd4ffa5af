// Makes the golden ids of tokenizer.json's truncation and padding sections from Hugging Face
// tokenizers 0.23.2 (the reference): each committed tokenizer with each setting below, texts
// encoded with and without special tokens.
// Usage: node truncation_goldens.js ../../tests/data/tokenizer/models > ../../tests/data/tokenizer/golden/truncation.json
const { Tokenizer } = require('tokenizers');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [models] = process.argv.slice(2);
const TOKENIZERS = ['bert-base-uncased', 'roberta-bpe-8k', 'gpt2', 'spm-unigram-8k'];
const SETTINGS = [
  { truncation: { max_length: 7, strategy: 'LongestFirst', direction: 'Right', stride: 0 }, padding: null },
  { truncation: { max_length: 6, strategy: 'OnlyFirst', direction: 'Left', stride: 2 }, padding: null },
  { truncation: null, padding: { strategy: { Fixed: 16 }, direction: 'Right', pad_to_multiple_of: null, pad_id: 0, pad_type_id: 0, pad_token: '[PAD]' } },
  { truncation: null, padding: { strategy: 'BatchLongest', direction: 'Left', pad_to_multiple_of: 8, pad_id: 1, pad_type_id: 0, pad_token: '<pad>' } },
  { truncation: { max_length: 9, strategy: 'LongestFirst', direction: 'Right', stride: 0 },
    padding: { strategy: { Fixed: 12 }, direction: 'Left', pad_to_multiple_of: null, pad_id: 3, pad_type_id: 0, pad_token: '<pad>' } },
];
const TEXTS = ['', 'Hello', 'The quick brown fox jumps over the lazy dog near the river bank.',
  'Truncation keeps the special tokens and cuts the text: one two three four five six seven eight nine ten.'];

async function main() {
  const out = [];
  for (const name of TOKENIZERS) {
    const base = JSON.parse(fs.readFileSync(path.join(models, name, 'tokenizer.json'), 'utf8'));
    for (const [s, setting] of SETTINGS.entries()) {
      const file = path.join(os.tmpdir(), `zest-trunc-${name}-${s}.json`);
      fs.writeFileSync(file, JSON.stringify({ ...base, ...setting }));
      const t = Tokenizer.fromFile(file);
      for (const text of TEXTS)
        for (const addSpecialTokens of [true, false]) {
          const ids = (await t.encode(text, null, { addSpecialTokens })).getIds();
          out.push({ tokenizer: name, setting: s, text, add_special_tokens: addSpecialTokens, ids });
        }
      fs.unlinkSync(file);
    }
  }
  process.stdout.write(JSON.stringify({ settings: SETTINGS, cases: out }) + '\n');
}
main();
