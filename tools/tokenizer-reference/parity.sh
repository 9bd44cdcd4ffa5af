#!/usr/bin/env bash
# Full-corpus parity of zest-tokenize against Hugging Face tokenizers 0.23.2 (encode.js): every
# line of each corpus, every tokenizer, with and without special tokens; prints identical/total.
# Usage: [TOKENIZERS="gpt2 ..."] tools/tokenizer-reference/parity.sh [SHARED_DIR] [ZEST_TOKENIZE]   (after npm i here)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shared="${1:-$here/../../../shared}"
zest="${2:-$here/../../build/examples/zest-tokenize/zest-tokenize}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf '%-20s %-15s %-8s %s\n' tokenizer corpus special identical/total
for tok in ${TOKENIZERS:-gpt2 bert-base-uncased spm-bpe-8k spm-unigram-8k wordpiece-cased-8k roberta-bpe-8k}; do
  for corpus in brown.txt multi-dev.txt; do
    for special in "" --add-special-tokens; do
      json="$shared/tokenizers/$tok/tokenizer.json"
      RAYON_NUM_THREADS=1 node "$here/encode.js" "$json" $special < "$shared/corpora/$corpus" > "$work/ref"
      "$zest" --tokenizer "$json" $special < "$shared/corpora/$corpus" > "$work/zest"
      counts=$(awk 'NR==FNR { ref[FNR] = $0; n = FNR; next } { if (ref[FNR] == $0) same++ } END { print same + 0 "/" n }' "$work/ref" "$work/zest")
      label=no; [ -n "$special" ] && label=yes
      printf "%-20s %-15s %-8s %s\n" "$tok" "$corpus" "$label" "$counts"
      [ "$(wc -l < "$work/ref")" = "$(wc -l < "$work/zest")" ] || echo "  line counts differ: $(wc -l < "$work/ref") vs $(wc -l < "$work/zest")"
    done
  done
done
