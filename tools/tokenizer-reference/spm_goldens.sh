#!/usr/bin/env bash
# Goldens for SentencePiece .model files from Debian's spm_encode (the reference for .model):
# every committed text without a line break, as ids.
# Usage: tools/tokenizer-reference/spm_goldens.sh   (writes tests/data/tokenizer/golden/spm-*.ids)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="$here/../../tests/data/tokenizer"
/usr/bin/python3 - "$data/golden/texts.jsonl" > "$data/golden/spm-texts.txt" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    t = json.loads(line)
    if "\n" not in t["text"] and "\r" not in t["text"]:
        sys.stdout.write(t["text"] + "\n")
PY
for name in spm-bpe-8k spm-unigram-8k; do
  spm_encode --model="$data/models/$name/tokenizer.model" --output_format=id < "$data/golden/spm-texts.txt" > "$data/golden/$name.ids"
done
