#!/usr/bin/env bash
# zest-embed's --rerank, --prompt-name, --dimensions and --no-truncate against the PyTorch
# reference's goldens (tests/data/models/*/golden.json). Usage: zest_embed_cli_test.sh ZEST_EMBED MODELS_DIR
set -euo pipefail
bin=$1 models=$2
python3 - "$bin" "$models" <<'PY'
import json, subprocess, sys
bin, models = sys.argv[1], sys.argv[2]

def run(args, stdin, ok=True):
    p = subprocess.run([bin, "--threads", "1"] + args, input=stdin, capture_output=True, text=True)
    if ok and p.returncode != 0:
        sys.exit(f"zest-embed {args} failed: {p.stderr}")
    return p

def close(a, b, tol=1e-4):
    assert len(a) == len(b) and all(abs(x - y) < tol for x, y in zip(a, b)), (a, b)

# --rerank: one {"query", "documents"} line in, {"scores", "truncated"} out, in document order.
for name in ("xlm-roberta-reranker-f16", "bert-reranker-bf16"):
    g = json.load(open(f"{models}/{name}/golden.json"))["rerank"]
    line = json.dumps({"query": g["query"], "documents": g["documents"]})
    outs = [json.loads(l) for l in run(["--model", f"{models}/{name}", "--rerank"], line + "\n" + line + "\n").stdout.splitlines()]
    assert len(outs) == 2
    for out in outs:
        close(out["scores"], g["scores"])
        assert out["truncated"] == [p["truncated"] for p in g["pairs"]], out["truncated"]
    bad = run(["--model", f"{models}/{name}", "--rerank", "--no-truncate"], line + "\n", ok=False)
    assert bad.returncode == 1 and "line 1" in bad.stderr and "truncation is off" in bad.stderr, bad.stderr
    bad = run(["--model", f"{models}/{name}", "--rerank"], '{"query": 1}\n', ok=False)
    assert bad.returncode == 1 and "expected" in bad.stderr, bad.stderr

# --prompt-name and --dimensions: each run of the goldens; truncated texts as objects.
g = json.load(open(f"{models}/st-roberta-lasttoken/golden.json"))["sentence_transformers"]
for r in g["runs"]:
    args = ["--model", f"{models}/st-roberta-lasttoken"]
    if r["prompt_name"]:
        args += ["--prompt-name", r["prompt_name"]]
    if r["dimensions"]:
        args += ["--dimensions", str(r["dimensions"])]
    lines = run(args, "\n".join(g["texts"]) + "\n").stdout.splitlines()
    for line, want, truncated in zip(lines, r["embeddings"], r["truncated"]):
        got = json.loads(line)
        if truncated:
            assert got["truncated"] is True
            got = got["embedding"]
        else:
            assert isinstance(got, list)
        close(got, want)
    # --no-truncate: the batch holding the long text is an error
    if any(r["truncated"]):
        bad = run(args + ["--no-truncate"], "\n".join(g["texts"]) + "\n", ok=False)
        assert bad.returncode == 1 and "truncation is off" in bad.stderr, bad.stderr
bad = run(["--model", f"{models}/st-roberta-lasttoken", "--prompt-name", "nope"], "t5\n", ok=False)
assert bad.returncode == 1 and "prompt name 'nope'" in bad.stderr, bad.stderr
print("zest-embed CLI: ok")
PY
