// Makes the golden encodings of sentence pairs from Hugging Face tokenizers 0.23.2 (the
// reference): encode(text, pair) through each post-processor's pair template (TemplateProcessing
// of bert-base-uncased, RobertaProcessing of roberta-bpe-8k, BertProcessing on wordpiece-cased-8k,
// XLM-R's template <s> $A </s> </s> $B </s> on the Unigram spm-unigram-8k with a Metaspace
// pre-tokenizer, ByteLevel alone on gpt2), with and without special tokens, under each pair
// truncation strategy. ids, type ids and offsets; an error where Hugging Face refuses.
// Usage: node pair_goldens.js ../../tests/data/tokenizer/models > ../../tests/data/tokenizer/golden/pairs.json
const { Tokenizer } = require('tokenizers');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [models] = process.argv.slice(2);
const special = (id, type_id) => ({ SpecialToken: { id, type_id } });
const sequence = (id, type_id) => ({ Sequence: { id, type_id } });
// What each case changes in the committed tokenizer.json.
const TOKENIZERS = {
  'bert-base-uncased': { base: 'bert-base-uncased', change: {} },
  'roberta-bpe-8k': { base: 'roberta-bpe-8k', change: {} },
  'wordpiece-cased-8k+BertProcessing': {
    base: 'wordpiece-cased-8k',
    change: { post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] } },
  },
  'xlm-r-unigram': {
    base: 'spm-unigram-8k',
    change: {
      normalizer: null,
      pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true },
      post_processor: {
        type: 'TemplateProcessing',
        single: [special('<s>', 0), sequence('A', 0), special('</s>', 0)],
        pair: [special('<s>', 0), sequence('A', 0), special('</s>', 0), special('</s>', 0), sequence('B', 0), special('</s>', 0)],
        special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
      },
    },
  },
  gpt2: { base: 'gpt2', change: {} },
};
const SETTINGS = [
  { truncation: null, padding: null },
  { truncation: { max_length: 12, strategy: 'LongestFirst', direction: 'Right', stride: 0 }, padding: null },
  { truncation: { max_length: 11, strategy: 'LongestFirst', direction: 'Left', stride: 0 }, padding: null },
  { truncation: { max_length: 15, strategy: 'OnlyFirst', direction: 'Right', stride: 0 }, padding: null },
  { truncation: { max_length: 15, strategy: 'OnlySecond', direction: 'Right', stride: 0 }, padding: null },
  { truncation: { max_length: 13, strategy: 'LongestFirst', direction: 'Right', stride: 0 },
    padding: { strategy: { Fixed: 16 }, direction: 'Right', pad_to_multiple_of: null, pad_id: 0, pad_type_id: 0, pad_token: '[PAD]' } },
];
const SHORT = 'Where is the river?';
const LONG = 'The quick brown fox jumps over the lazy dog near the river bank, and then it runs away into the woods.';
const PAIRS = [['', ''], ['Hello', 'world'], [SHORT, LONG], [LONG, SHORT], [LONG, LONG + ' Again!'], ['', LONG], [SHORT, '']];
// The early exit of tokenizers >= 0.23 (tokenize_with_limit in tokenizers/src/tokenizer/pre_tokenizer.rs):
// each text is tokenized split by split up to max_length ids before the pair is truncated, and an
// added token reaching max_length does not stop it. One-letter words, with the tokenizer's own
// added token where it is the 12th id from the start or the 11th from the end (settings 1 and 2);
// an empty first text beside a second whose 15th id ends a word or falls inside one (setting 3).
const MARKER = { 'bert-base-uncased': '[SEP]', 'roberta-bpe-8k': '</s>', 'wordpiece-cased-8k+BertProcessing': '[SEP]',
  'xlm-r-unigram': '</s>', gpt2: '<|endoftext|>' };
const LETTERS = 'a b c d e f g h i j k l m n o p'.split(' ');
const EARLY_EXIT = (marker) => {
  const right = [...LETTERS.slice(0, 11), marker, ...LETTERS.slice(11)].join(' ');
  const left = [...LETTERS.slice(0, 6), marker, ...LETTERS.slice(6)].join(' ');
  const letters = LETTERS.join(' ');
  return [[right, letters], [letters, right], [left, letters], ['', LETTERS.slice(0, 14).join(' ') + ' tokenization'],
    ['', LETTERS.slice(0, 13).join(' ') + ' tokenization']];
};

async function main() {
  const out = [];
  for (const [name, { base, change }] of Object.entries(TOKENIZERS)) {
    const json = JSON.parse(fs.readFileSync(path.join(models, base, 'tokenizer.json'), 'utf8'));
    for (const [s, setting] of SETTINGS.entries()) {
      const file = path.join(os.tmpdir(), `zest-pair-${base}-${s}.json`);
      fs.writeFileSync(file, JSON.stringify({ ...json, ...change, ...setting }));
      const t = Tokenizer.fromFile(file);
      for (const [a, b] of [...PAIRS, ...EARLY_EXIT(MARKER[name])])
        for (const addSpecialTokens of [true, false]) {
          const c = { tokenizer: name, setting: s, text: a, pair: b, add_special_tokens: addSpecialTokens };
          try {
            const e = await t.encode(a, b, { addSpecialTokens });
            Object.assign(c, { ids: e.getIds(), type_ids: e.getTypeIds(), offsets: e.getOffsets() });
          } catch (err) {
            c.error = String(err.message || err);
          }
          out.push(c);
        }
      fs.unlinkSync(file);
    }
  }
  process.stdout.write(JSON.stringify({ tokenizers: TOKENIZERS, settings: SETTINGS, cases: out }) + '\n');
}
main();
