// Goldens for the components the six shared tokenizers do not use: each variant is a shared
// tokenizer.json with some components replaced (the "patch"), encoded and decoded by Hugging
// Face tokenizers 0.23.2 on a subset of the committed texts.
// Usage: node variants.js SHARED_DIR ../../tests/data/tokenizer/golden
const { Tokenizer } = require('tokenizers');
const fs = require('fs');
const path = require('path');

const [shared, outDir] = process.argv.slice(2);
const texts = fs.readFileSync(path.join(outDir, 'texts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  .filter((t, i) => Buffer.byteLength(t.text) < 300 && (t.name.startsWith('edge:') || (t.name.startsWith('multi-dev:') && i % 8 === 0) || t.name === 'brown:1'));

const ws = { type: 'WhitespaceSplit' };
const gpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const cl100k = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const qwen2 = cl100k.replace('\\p{N}{1,3}', '\\p{N}');
const wp = 'wordpiece-cased-8k', rob = 'roberta-bpe-8k', spm = 'spm-bpe-8k', uni = 'spm-unigram-8k';
const behaviors = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];
const added = (extra) => (base) => [...base, ...extra];

const VARIANTS = [
  { name: 'whitespace', base: wp, patch: { pre_tokenizer: { type: 'Whitespace' } } },
  { name: 'whitespace_split', base: wp, patch: { pre_tokenizer: ws } },
  ...behaviors.map((b) => ({ name: `punctuation_${b}`, base: wp, patch: { pre_tokenizer: { type: 'Sequence', pretokenizers: [ws, { type: 'Punctuation', behavior: b }] } } })),
  { name: 'digits_individual', base: wp, patch: { pre_tokenizer: { type: 'Sequence', pretokenizers: [ws, { type: 'Digits', individual_digits: true }] } } },
  { name: 'digits_grouped', base: wp, patch: { pre_tokenizer: { type: 'Sequence', pretokenizers: [ws, { type: 'Digits', individual_digits: false }] } } },
  ...behaviors.map((b) => ({ name: `split_regex_${b}`, base: wp, patch: { pre_tokenizer: { type: 'Split', pattern: { Regex: '\\s+|[,.!?]' }, behavior: b, invert: false } } })),
  { name: 'split_string_inverted', base: wp, patch: { pre_tokenizer: { type: 'Split', pattern: { String: 'e' }, behavior: 'Isolated', invert: true } } },
  { name: 'split_regex_inverted', base: wp, patch: { pre_tokenizer: { type: 'Split', pattern: { Regex: '\\p{L}+' }, behavior: 'Removed', invert: true } } },
  { name: 'nfkc_lowercase', base: wp, patch: { normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] } } },
  { name: 'nfd_strip_accents', base: wp, patch: { normalizer: { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }] } } },
  { name: 'nfc_strip', base: wp, patch: { normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Strip', strip_left: true, strip_right: true }] } } },
  { name: 'nfkd_replace_regex', base: wp, patch: { normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKD' }, { type: 'Replace', pattern: { Regex: '[0-9]+' }, content: '#' }] } } },
  { name: 'bert_lowercase_strip_accents', base: wp, patch: { normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: true, lowercase: true } } },
  { name: 'bert_no_clean_no_chinese', base: wp, patch: { normalizer: { type: 'BertNormalizer', clean_text: false, handle_chinese_chars: false, strip_accents: false, lowercase: false } } },
  { name: 'bert_processing', base: wp, patch: { post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] } } },
  { name: 'wordpiece_max_chars_5', base: wp, model: { max_input_chars_per_word: 5 } },
  { name: 'added_tokens_flags', base: wp, added: added([
      { id: 8000, content: 'the', single_word: true, lstrip: false, rstrip: false, normalized: false, special: false },
      { id: 8001, content: 'ing', single_word: false, lstrip: true, rstrip: true, normalized: false, special: true },
      { id: 8002, content: 'hello', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
      { id: 8003, content: ' ', single_word: false, lstrip: false, rstrip: false, normalized: false, special: false }]) },
  { name: 'metaspace_always', base: spm, patch: { normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true }, decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true } } },
  { name: 'metaspace_first_nosplit', base: spm, patch: { normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false }, decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false } } },
  { name: 'metaspace_never_unigram', base: uni, patch: { normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'never', split: true }, decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'never', split: true } } },
  { name: 'split_gpt2_then_byte_level', base: rob, patch: { pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: gpt2 }, behavior: 'Isolated', invert: false }, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] } } },
  { name: 'split_cl100k_then_byte_level', base: rob, patch: { pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: cl100k }, behavior: 'Removed', invert: true }, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false }] } } },
  { name: 'split_qwen2_then_byte_level', base: rob, patch: { pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: qwen2 }, behavior: 'Isolated', invert: false }, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false }] } } },
  { name: 'byte_level_prefix_space', base: rob, patch: { pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true }, post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true } } },
  { name: 'bpe_ignore_merges', base: rob, model: { ignore_merges: true } },
  { name: 'sequence_processor', base: rob, patch: { post_processor: { type: 'Sequence', processors: [{ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }, { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }], pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }], special_tokens: { '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } } }] } } },
  { name: 'bpe_decoder_strip', base: wp, patch: { decoder: { type: 'Sequence', decoders: [{ type: 'BPEDecoder', suffix: 'e' }, { type: 'Strip', content: 'a', start: 2, stop: 0 }] } } },
  { name: 'no_decoder', base: wp, patch: { decoder: null } },
  { name: 'replace_decoder_regex', base: spm, patch: { decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { Regex: '▁+' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }] } } },
];

async function main() {
  const rows = [JSON.stringify({ texts: texts.map((t) => t.name) })];
  for (const v of VARIANTS) {
    const json = JSON.parse(fs.readFileSync(path.join(shared, 'tokenizers', v.base, 'tokenizer.json'), 'utf8'));
    const patch = { ...(v.patch || {}) };
    if (v.model) patch.model = v.model;
    if (v.added) patch.added_tokens = v.added(json.added_tokens).slice(json.added_tokens.length);
    Object.assign(json, v.patch || {});
    if (v.model) Object.assign(json.model, v.model);
    if (v.added) json.added_tokens = v.added(json.added_tokens);
    const tok = Tokenizer.fromString(JSON.stringify(json));
    const ids = [], ids_special = [], decoded = [];
    for (const { text } of texts) {
      ids.push((await tok.encode(text, null, { addSpecialTokens: false })).getIds());
      const s = (await tok.encode(text, null, { addSpecialTokens: true })).getIds();
      ids_special.push(s);
      decoded.push([await tok.decode(s, false), await tok.decode(s, true)]);
    }
    rows.push(JSON.stringify({ name: v.name, base: v.base, patch, ids, ids_special, decoded }));
  }
  fs.writeFileSync(path.join(outDir, 'variants.jsonl'), rows.join('\n') + '\n');
}
main().catch((e) => { console.error(e); process.exit(1); });
