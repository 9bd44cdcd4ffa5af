# Sourced by the benchmarks' run.sh: the seeded random-weight models (tools/make_bench_models.py)
# and the same weights as GGUF for llama.cpp (the peer kit's to_gguf.py), made once and remade
# when make_bench_models.py changes (its hash is stamped beside them). Each function expects the
# caller's log and die.

# bench_models DIR PYTHON MODEL...: DIR/models/MODEL for each.
bench_models() {
  local dir=$1 py=$2 stamp m out
  shift 2
  stamp=$(sha256sum tools/make_bench_models.py | cut -c1-16)
  mkdir -p "$dir/models" "$dir/gguf" "$dir/results"
  for m in "$@"; do
    out=$dir/models/$m
    if [ "$(cat "$out/.stamp" 2>/dev/null)" != "$stamp" ]; then
      log "making $out (f32 weights, seeded)"
      rm -rf "$out" "$out.tmp"
      "$py" tools/make_bench_models.py "$m" --out "$out.tmp" --dtype f32 >&2 || die "make_bench_models.py $m failed"
      echo "$stamp" > "$out.tmp/.stamp"
      mv "$out.tmp" "$out"
    else
      log "reusing $out"
    fi
  done
}

# bench_ggufs DIR PYTHON PEER_KIT MODEL...: DIR/gguf/MODEL-{f32,f16,q8_0}.gguf for each.
bench_ggufs() {
  local dir=$1 py=$2 peers=$3 m t g
  shift 3
  for m in "$@"; do
    for t in f32 f16 q8_0; do
      g=$dir/gguf/$m-$t.gguf
      if [ ! -f "$g" ] || [ "$dir/models/$m/.stamp" -nt "$g" ]; then
        log "converting $m to $g"
        "$py" "$peers/to_gguf.py" "$dir/models/$m" --type "$t" --out "$g.tmp" >&2 || die "to_gguf.py $m $t failed"
        mv "$g.tmp" "$g"
      fi
    done
  done
}

# bench_quantized DIR QUANTIZE MODEL...: DIR/gguf/MODEL-{q4_0,q4_k_m}.gguf for each, quantized by
# llama.cpp's own llama-quantize (at QUANTIZE) from the F32 GGUF that bench_ggufs made, as llama.cpp
# users make the 4-bit files they run.
bench_quantized() {
  local dir=$1 quantize=$2 m t g
  shift 2
  for m in "$@"; do
    for t in q4_0 q4_k_m; do
      g=$dir/gguf/$m-$t.gguf
      if [ ! -f "$g" ] || [ "$dir/gguf/$m-f32.gguf" -nt "$g" ]; then
        log "quantizing $m to $g"
        "$quantize" "$dir/gguf/$m-f32.gguf" "$g.tmp" "${t^^}" >&2 || die "llama-quantize $m $t failed"
        mv "$g.tmp" "$g"
      fi
    done
  done
}

# peer_tool PEERS TOOL: the path of llama.cpp's TOOL, which the peer kit's setup.sh --all builds
# beside llama-bench (without AMX on AMX machines); nothing, with a log line saying why, when PEERS
# is "none" or holds no kit.
peer_tool() {
  local peers=$1 tool=$2 path
  if [ "$peers" = none ]; then
    log "llama.cpp skipped (peers: none)"
  elif [ ! -x "$peers/setup.sh" ] || [ ! -f "$peers/to_gguf.py" ]; then
    log "llama.cpp skipped: no peer kit at $peers (setup.sh, to_gguf.py)"
  else
    path=$(dirname "$("$peers/setup.sh" --all | tail -n 1)")/$tool
    [ -x "$path" ] || die "no $tool beside what $peers/setup.sh --all printed"
    echo "$path"
  fi
}
