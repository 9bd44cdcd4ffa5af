// Byte-pair encoding: characters of the word first (with continuing_subword_prefix,
// end_of_word_suffix, byte_fallback and fused unknowns), then merges by rank, lowest first and
// leftmost among equals, exactly in Hugging Face's order.
#pragma once

#include <cstdio>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "zest/error.hpp"
#include "zest/tokenizer/model.hpp"
#include "zest/tokenizer/utf8.hpp"

namespace zest::detail {

class Bpe final : public Model {
 public:
  struct Options {
    std::string unk_token;  // empty: none
    std::string continuing_subword_prefix, end_of_word_suffix;
    bool fuse_unk = false, byte_fallback = false, ignore_merges = false;
  };

  static std::unique_ptr<Bpe> from_json(const JsonRef& j, const ModelTables& t) {
    if (j.has("dropout")) {
      const double p = j["dropout"].number();
      if (p > 0.0) j["dropout"].unsupported("BPE dropout is random; zest encodes deterministically");
    }
    Options o;
    o.unk_token = j.str_or("unk_token", "");
    o.continuing_subword_prefix = j.str_or("continuing_subword_prefix", "");
    o.end_of_word_suffix = j.str_or("end_of_word_suffix", "");
    o.fuse_unk = j.bool_or("fuse_unk", false);
    o.byte_fallback = j.bool_or("byte_fallback", false);
    o.ignore_merges = j.bool_or("ignore_merges", false);
    auto bpe = std::make_unique<Bpe>(t.vocab_ids_given ? Vocab::from_pairs(t.vocab_ids, j) : Vocab::from_json_object(j["vocab"]),
                                     std::move(o));
    if (t.merges_given) {
      bpe->merges_.reserve(t.merges.size());
      for (std::size_t i = 0; i < t.merges.size(); ++i)
        bpe->add_merge(t.merges[i].first, t.merges[i].second, static_cast<std::int32_t>(i), j);
      return bpe;
    }
    const JsonRef merges = j["merges"];
    if (!merges.is_array()) merges.error("expected an array of merges");
    bpe->merges_.reserve(merges.size());
    for (std::size_t i = 0; i < merges.size(); ++i) {
      const JsonRef m = merges[i];
      if (m.is_string()) {
        const std::string& s = m.str_ref();
        const auto space = s.find(' ');
        if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
          m.error("expected a merge \"a b\" with exactly one space");
        bpe->add_merge(s.substr(0, space), s.substr(space + 1), static_cast<std::int32_t>(i), m);
      } else {
        if (!m.is_array() || m.size() != 2) m.error("expected a merge [\"a\", \"b\"]");
        bpe->add_merge(m[0].str(), m[1].str(), static_cast<std::int32_t>(i), m);
      }
    }
    return bpe;
  }

  Bpe(Vocab vocab, Options options) : o_(std::move(options)) {
    vocab_ = std::move(vocab);
    if (o_.byte_fallback) {
      char name[8];
      for (int b = 0; b < 256; ++b) {
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        byte_ids_[b] = vocab_.find(name);
      }
    }
    // Ids of single characters (without prefix/suffix) for the common case.
  }

  void add_merge(std::string_view a, std::string_view b, std::int32_t rank, const JsonRef& where) {
    const std::int32_t ia = vocab_.find(a), ib = vocab_.find(b);
    if (ia < 0 || ib < 0) {
      const std::string_view missing = ia < 0 ? a : b;
      const std::string what = "merge token \"" + std::string(missing) + "\" is not in the vocabulary";
      if (where.is_object()) where.child_error("merges[" + std::to_string(rank) + "]", what);
      where.error(what);
    }
    const std::size_t cut = std::min(o_.continuing_subword_prefix.size(), b.size());
    const std::string merged = std::string(a) + std::string(b.substr(cut));
    const std::int32_t im = vocab_.find(merged);
    if (im < 0) {
      const std::string what = "merged token \"" + merged + "\" is not in the vocabulary";
      if (where.is_object()) where.child_error("merges[" + std::to_string(rank) + "]", what);
      where.error(what);
    }
    merges_.insert(ia, ib, {rank, im});
  }

  void tokenize(std::string_view word, std::vector<Token>& out) const override {
    if (word.empty()) return;
    if (o_.ignore_merges) {
      const std::int32_t id = vocab_.find(word);
      if (id >= 0) {
        out.push_back({id, 0, static_cast<std::uint32_t>(word.size())});
        return;
      }
    }
    thread_local std::vector<Symbol> symbols;
    symbols.clear();
    initial_symbols(word, symbols);
    merge_all(symbols);
    for (std::size_t i = 0; i < symbols.size(); i = static_cast<std::size_t>(symbols[i].next)) {
      out.push_back({symbols[i].id, symbols[i].begin, symbols[i].begin + symbols[i].len});
      if (symbols[i].next < 0) break;
    }
  }

 private:
  struct Symbol {
    std::int32_t id;
    std::uint32_t begin, len;
    std::int32_t prev, next;
  };

  void push(std::vector<Symbol>& s, std::int32_t id, std::uint32_t begin, std::uint32_t len) const {
    const auto n = static_cast<std::int32_t>(s.size());
    s.push_back({id, begin, len, n - 1, -1});
    if (n > 0) s[static_cast<std::size_t>(n - 1)].next = n;
  }

  std::int32_t unk_id() const {
    const std::int32_t id = vocab_.find(o_.unk_token);
    if (id < 0) fail(Error::Kind::config, "BPE: unk_token \"", o_.unk_token, "\" is not in the vocabulary");
    return id;
  }

  // HF's merge_word: one symbol per character, or its bytes, or (fused) unknowns.
  void initial_symbols(std::string_view w, std::vector<Symbol>& s) const {
    bool have_unk = false;
    std::int32_t unk = -1;
    std::uint32_t unk_begin = 0, unk_len = 0;
    std::string buf;
    std::size_t i = 0;
    while (i < w.size()) {
      const std::size_t len = utf8::char_length(static_cast<unsigned char>(w[i]));
      const bool first = i == 0, last = i + len >= w.size();
      std::string_view piece = w.substr(i, len);
      if ((!first && !o_.continuing_subword_prefix.empty()) || (last && !o_.end_of_word_suffix.empty())) {
        buf.clear();
        if (!first) buf += o_.continuing_subword_prefix;
        buf += piece;
        if (last) buf += o_.end_of_word_suffix;
        piece = buf;
      }
      const auto begin = static_cast<std::uint32_t>(i);
      i += len;
      if (const std::int32_t id = vocab_.find(piece); id >= 0) {
        if (have_unk) {
          push(s, unk, unk_begin, unk_len);
          have_unk = false;
        }
        push(s, id, begin, static_cast<std::uint32_t>(len));
        continue;
      }
      if (o_.byte_fallback) {
        bool all = true;
        for (char c : piece) all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
        if (all) {
          // HF gives each byte token length 1 (offsets of the pieces' bytes).
          std::uint32_t at = begin;
          for (char c : piece) {
            push(s, byte_ids_[static_cast<unsigned char>(c)], std::min<std::uint32_t>(at, begin + len - 1), 1);
            ++at;
          }
          continue;
        }
      }
      if (!o_.unk_token.empty()) {
        if (have_unk && o_.fuse_unk) {
          unk_len += static_cast<std::uint32_t>(len);
        } else {
          if (have_unk) push(s, unk, unk_begin, unk_len);
          unk = unk_id();
          have_unk = true;
          unk_begin = begin;
          unk_len = static_cast<std::uint32_t>(len);
        }
      }
    }
    if (have_unk) push(s, unk, unk_begin, unk_len);
  }

  struct Candidate {
    std::int32_t rank, pos, id;
    bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };

  void merge_all(std::vector<Symbol>& s) const {
    if (s.size() < 2) return;
    thread_local std::vector<Candidate> heap;
    heap.clear();
    for (std::size_t i = 0; i + 1 < s.size(); ++i) {
      const auto m = merges_.find(s[i].id, s[i + 1].id);
      if (m.rank >= 0) heap.push_back({m.rank, static_cast<std::int32_t>(i), m.id});
    }
    std::make_heap(heap.begin(), heap.end());
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end());
      const Candidate top = heap.back();
      heap.pop_back();
      Symbol& cur = s[static_cast<std::size_t>(top.pos)];
      if (cur.len == 0 || cur.next < 0) continue;
      Symbol& right = s[static_cast<std::size_t>(cur.next)];
      const auto now = merges_.find(cur.id, right.id);
      if (now.rank < 0 || now.id != top.id) continue;  // an expired candidate
      cur.id = top.id;
      cur.len += right.len;
      cur.next = right.next;
      right.len = 0;
      if (cur.next >= 0) s[static_cast<std::size_t>(cur.next)].prev = top.pos;
      if (cur.prev >= 0) {
        const auto m = merges_.find(s[static_cast<std::size_t>(cur.prev)].id, cur.id);
        if (m.rank >= 0) {
          heap.push_back({m.rank, cur.prev, m.id});
          std::push_heap(heap.begin(), heap.end());
        }
      }
      if (cur.next >= 0) {
        const auto m = merges_.find(cur.id, s[static_cast<std::size_t>(cur.next)].id);
        if (m.rank >= 0) {
          heap.push_back({m.rank, top.pos, m.id});
          std::push_heap(heap.begin(), heap.end());
        }
      }
    }
  }

  Options o_;
  PairMap merges_;
  std::int32_t byte_ids_[256] = {};
};

}  // namespace zest::detail
