// Byte-pair encoding: characters of the word first (with continuing_subword_prefix,
// end_of_word_suffix, byte_fallback and fused unknowns), then merges by rank, lowest first and
// leftmost among equals, exactly in Hugging Face's order.
#pragma once

#include <algorithm>
#include <array>
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
    o.unk_token = j.get_string("unk_token", "");
    o.continuing_subword_prefix = j.get_string("continuing_subword_prefix", "");
    o.end_of_word_suffix = j.get_string("end_of_word_suffix", "");
    o.fuse_unk = j.get_bool("fuse_unk", false);
    o.byte_fallback = j.get_bool("byte_fallback", false);
    o.ignore_merges = j.get_bool("ignore_merges", false);
    auto bpe = std::make_unique<Bpe>(t.vocab_ids_given ? Vocab::from_pairs(t, j) : Vocab::from_json_object(j["vocab"]),
                                     std::move(o));
    if (t.merges_given) {
      bpe->reserve_merges(t.merges.size(), j);
      for (size_t i = 0; i < t.merges.size(); ++i)
        bpe->add_merge(t.str(t.merges[i].first), t.str(t.merges[i].second), int32_t(i), j);
    } else {
      bpe->add_json_merges(j);
    }
    bpe->find_whole_tokens();
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
    // Ids of single characters below U+3000 (Latin, ByteLevel's, U+2581 '▁'), found once by
    // a walk over the vocabulary (then looked up, in case two ids share a string).
    if (o_.continuing_subword_prefix.empty() && o_.end_of_word_suffix.empty()) {
      char_ids_.assign(0x3000, -1);
      for (size_t id = 0; id < vocab_.id_bound(); ++id) {
        const std::string* t = vocab_.token(int32_t(id));
        if (!t || t->empty() || utf8::char_length(static_cast<unsigned char>((*t)[0])) != t->size()) continue;
        if (const char32_t c = utf8::at(*t, 0); c < char_ids_.size()) char_ids_[c] = vocab_.find(*t);
      }
    }
  }

  void reserve_merges(size_t n, const JsonRef& where) {
    if (n > MergeMap::max_ranks) where.unsupported("more than " + std::to_string(MergeMap::max_ranks) + " merges");
    if (vocab_.id_bound() > MergeMap::max_ids) where.unsupported("BPE token ids of " + std::to_string(MergeMap::max_ids) + " or more");
    merges_.reserve(n);
    merged_.assign(n, -1);
    parts_.assign(n, {-1, -1});
  }

  void add_merge(std::string_view a, std::string_view b, int32_t rank, const JsonRef& where) {
    const int32_t ia = vocab_.find(a), ib = vocab_.find(b);
    if (ia < 0 || ib < 0) {
      const std::string_view missing = ia < 0 ? a : b;
      const std::string what = "merge token \"" + std::string(missing) + "\" is not in the vocabulary";
      if (where.is_object()) where.child_error("merges[" + std::to_string(rank) + "]", what);
      where.error(what);
    }
    const size_t cut = std::min(o_.continuing_subword_prefix.size(), b.size());
    thread_local std::string merged;  // one buffer for all the merges
    merged.assign(a);
    merged.append(b.substr(cut));
    const int32_t im = vocab_.find(merged);
    if (im < 0) {
      const std::string what = "merged token \"" + merged + "\" is not in the vocabulary";
      if (where.is_object()) where.child_error("merges[" + std::to_string(rank) + "]", what);
      where.error(what);
    }
    merges_.insert(ia, ib, rank);
    merged_[size_t(rank)] = im;
    parts_[size_t(rank)] = {ia, ib};
  }

  // After the merges: marks the tokens that BPE makes of their own string, so that a word
  // spelled like one is that token without the merge loop. A single character is one; a token
  // made by a merge (a, b) is when a and b are, were made before, and BPE of a's string then
  // b's reaches a, b (see reaches_pair). Of several merges making one token, BPE of its string
  // ends in one: the first that passes. A pair merged twice takes its last rank, as in HF.
  void find_whole_tokens() {
    const size_t n = vocab_.id_bound();
    whole_.assign(n, false);
    made_at_.assign(n, -1);
    if (plain_words()) {
      for (size_t id = 0; id < n; ++id) {
        const std::string* t = vocab_.token(int32_t(id));
        whole_[id] = t && !t->empty() && utf8::char_length(static_cast<unsigned char>((*t)[0])) == t->size();
      }
      for (size_t r = 0; r < merged_.size(); ++r) {
        const auto rank = int32_t(r);
        const auto [a, b] = parts_[r];
        const auto t = size_t(merged_[r]);
        if (whole_[t] || !whole_[size_t(a)] || !whole_[size_t(b)] ||
            made_at_[size_t(a)] >= rank || made_at_[size_t(b)] >= rank ||
            merges_.find(a, b) != rank || !reaches_pair(a, b, rank))
          continue;
        whole_[t] = true;
        made_at_[t] = rank;
      }
    }
    std::vector<std::array<int32_t, 2>>().swap(parts_);  // needed only here
    std::vector<int32_t>().swap(made_at_);
  }

  // The token of a word spelled like a token that BPE makes of its own string, or -1.
  int32_t whole_token(std::string_view word) const {
    const int32_t id = vocab_.find(word);
    return id >= 0 && size_t(id) < whole_.size() && whole_[size_t(id)] ? id : -1;
  }

  // Whether a word's tokens depend only on its characters (no prefix, suffix or whole-word rule).
  bool plain_words() const {
    return o_.continuing_subword_prefix.empty() && o_.end_of_word_suffix.empty() && !o_.ignore_merges;
  }

  // BPE of a word whose symbols are first one per byte, byte b's being ids[b]: ByteLevel words
  // from their raw bytes, without mapping them to ByteLevel characters. Offsets are in bytes.
  // For plain_words() models whose every ids[b] is a token.
  void tokenize_bytes(std::string_view word, const std::array<int32_t, 256>& ids, std::vector<Token>& out) const {
    thread_local std::vector<Symbol> symbols;
    symbols.clear();
    for (size_t i = 0; i < word.size(); ++i) push(symbols, ids[static_cast<unsigned char>(word[i])], uint32_t(i), 1);
    merge_all(symbols);
    for (const auto& sym : symbols) out.push_back({sym.id, sym.begin, sym.begin + sym.len});
  }

  void tokenize(std::string_view word, std::vector<Token>& out) const override {
    if (word.empty()) return;
    if (const int32_t id = o_.ignore_merges ? vocab_.find(word) : whole_token(word); id >= 0) {
      out.push_back({id, 0, uint32_t(word.size())});
      return;
    }
    merge_word(word, out);
  }

  // BPE of a non-empty word by the merge loop alone, without the whole-token shortcut.
  void merge_word(std::string_view word, std::vector<Token>& out) const {
    thread_local std::vector<Symbol> symbols;
    symbols.clear();
    initial_symbols(word, symbols);
    merge_all(symbols);
    for (const auto& sym : symbols) out.push_back({sym.id, sym.begin, sym.begin + sym.len});
  }

 private:
  // The merges of the model object j, as strings "a b" or pairs ["a", "b"].
  void add_json_merges(const JsonRef& j) {
    const JsonRef merges = j["merges"];
    if (!merges.is_array()) merges.error("expected an array of merges");
    reserve_merges(merges.size(), j);
    for (size_t i = 0; i < merges.size(); ++i) {
      const JsonRef m = merges[i];
      if (m.is_string()) {
        const std::string& s = m.str_ref();
        const auto space = s.find(' ');
        if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
          m.error("expected a merge \"a b\" with exactly one space");
        add_merge(s.substr(0, space), s.substr(space + 1), int32_t(i), m);
      } else {
        if (!m.is_array() || m.size() != 2) m.error("expected a merge [\"a\", \"b\"]");
        add_merge(m[0].str(), m[1].str(), int32_t(i), m);
      }
    }
  }

  struct Symbol {
    int32_t id;
    uint32_t begin, len;
    int32_t prev, next;
  };

  void push(std::vector<Symbol>& s, int32_t id, uint32_t begin, uint32_t len) const {
    const auto n = int32_t(s.size());
    s.push_back({id, begin, len, n - 1, -1});
    if (n > 0) s[size_t(n - 1)].next = n;
  }

  int32_t unk_id() const {
    const int32_t id = vocab_.find(o_.unk_token);
    if (id < 0) fail(Error::Kind::config, "BPE: unk_token \"", o_.unk_token, "\" is not in the vocabulary");
    return id;
  }

  // HF's merge_word: one symbol per character, or its bytes, or (fused) unknowns.
  void initial_symbols(std::string_view w, std::vector<Symbol>& s) const {
    bool have_unk = false;
    int32_t unk = -1;
    uint32_t unk_begin = 0, unk_len = 0;
    std::string buf;
    size_t i = 0;
    while (i < w.size()) {
      const size_t len = utf8::char_length(static_cast<unsigned char>(w[i]));
      const bool first = i == 0, last = i + len >= w.size();
      std::string_view piece = w.substr(i, len);
      if ((!first && !o_.continuing_subword_prefix.empty()) || (last && !o_.end_of_word_suffix.empty())) {
        buf.clear();
        if (!first) buf += o_.continuing_subword_prefix;
        buf += piece;
        if (last) buf += o_.end_of_word_suffix;
        piece = buf;
      }
      const auto begin = uint32_t(i);
      int32_t id;
      if (!char_ids_.empty()) {
        size_t k = i;
        const char32_t c = utf8::next(w, k);
        id = c < char_ids_.size() ? char_ids_[c] : vocab_.find(piece);
      } else {
        id = vocab_.find(piece);
      }
      i += len;
      if (id >= 0) {
        if (have_unk) {
          push(s, unk, unk_begin, unk_len);
          have_unk = false;
        }
        push(s, id, begin, uint32_t(len));
        continue;
      }
      if (o_.byte_fallback) {
        bool all = true;
        for (char c : piece) all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
        if (all) {
          // HF gives each byte token length 1 (offsets of the pieces' bytes).
          uint32_t at = begin;
          for (char c : piece) {
            push(s, byte_ids_[static_cast<unsigned char>(c)], std::min<uint32_t>(at, begin + len - 1), 1);
            ++at;
          }
          continue;
        }
      }
      if (!o_.unk_token.empty()) {
        if (have_unk && o_.fuse_unk) {
          unk_len += uint32_t(len);
        } else {
          if (have_unk) push(s, unk, unk_begin, unk_len);
          unk = unk_id();
          have_unk = true;
          unk_begin = begin;
          unk_len = uint32_t(len);
        }
      }
    }
    if (have_unk) push(s, unk, unk_begin, unk_len);
  }

  // Merges lowest rank first, leftmost among equals. Short words: scan the pairs for the
  // minimum; long ones (whole SentencePiece lines): a heap of candidates.
  void merge_all(std::vector<Symbol>& s) const {
    if (s.size() < 2) return;
    if (s.size() <= 24) return merge_short(s);
    merge_long(s);
  }

  void merge_short(std::vector<Symbol>& s) const {
    // s is still a plain array here: symbol k's next is k + 1. Work on a compact copy.
    int32_t ids[24], rank[24];
    uint32_t begin[24], len[24];
    size_t n = s.size();
    for (size_t k = 0; k < n; ++k) ids[k] = s[k].id, begin[k] = s[k].begin, len[k] = s[k].len;
    auto look = [&](size_t k) {
      const int32_t r = merges_.find(ids[k], ids[k + 1]);
      rank[k] = r < 0 ? INT32_MAX : r;
    };
    for (size_t k = 0; k + 1 < n; ++k) look(k);
    while (n > 1) {
      size_t best = 0;
      for (size_t k = 1; k + 1 < n; ++k)
        if (rank[k] < rank[best]) best = k;
      if (rank[best] == INT32_MAX) break;
      ids[best] = merged_[size_t(rank[best])];
      len[best] += len[best + 1];
      for (size_t k = best + 1; k + 1 < n; ++k) {
        ids[k] = ids[k + 1], begin[k] = begin[k + 1], len[k] = len[k + 1];
        rank[k] = rank[k + 1];
      }
      --n;
      if (best > 0) look(best - 1);
      if (best + 1 < n) look(best);
    }
    s.resize(n);
    for (size_t k = 0; k < n; ++k)
      s[k] = {ids[k], begin[k], len[k], int32_t(k) - 1, k + 1 < n ? int32_t(k + 1) : -1};
  }

  struct Candidate {
    int32_t rank, pos, id;
    int32_t left, right_pos, right;  // the pair it was made for: stale once they change
    bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };

  void merge_long(std::vector<Symbol>& s) const {
    thread_local std::vector<Candidate> heap;
    heap.clear();
    auto consider = [&](int32_t pos) {
      const Symbol& a = s[size_t(pos)];
      const Symbol& b = s[size_t(a.next)];
      const int32_t rank = merges_.find(a.id, b.id);
      if (rank >= 0) {
        heap.push_back({rank, pos, merged_[size_t(rank)], a.id, a.next, b.id});
        std::push_heap(heap.begin(), heap.end());
      }
    };
    for (size_t i = 0; i + 1 < s.size(); ++i) consider(int32_t(i));
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end());
      const Candidate top = heap.back();
      heap.pop_back();
      Symbol& cur = s[size_t(top.pos)];
      if (cur.len == 0 || cur.next != top.right_pos || cur.id != top.left) continue;
      Symbol& right = s[size_t(cur.next)];
      if (right.id != top.right) continue;
      cur.id = top.id;
      cur.len += right.len;
      cur.next = right.next;
      right.len = 0;
      if (cur.next >= 0) s[size_t(cur.next)].prev = top.pos;
      if (cur.prev >= 0) consider(cur.prev);
      if (cur.next >= 0) consider(top.pos);
    }
    // Compact to a plain array.
    size_t n = 0;
    for (int32_t i = 0; i >= 0; i = s[size_t(i)].next) s[n++] = s[size_t(i)];
    s.resize(n);
  }

  // Whether BPE of a's string then b's (each a whole token) reaches a, b, before the merge of
  // the given rank joins them: walking down a's right edge and b's left edge (undoing the later
  // made of the two tokens each step), no pair across the boundary may merge before the tokens
  // on its sides are made (nor, on the right, when they are: the leftmost of equal ranks goes
  // first). The check of GitHub's `bpe` crate, with ranks for its ids.
  bool reaches_pair(int32_t a, int32_t b, int32_t rank) const {
    int32_t limit = rank;
    while (true) {
      const int32_t across = merges_.find(a, b);
      if (across >= 0 && across < limit) return false;
      const int32_t made_a = made_at_[size_t(a)], made_b = made_at_[size_t(b)];
      if (made_a > made_b) {
        limit = made_a;
        a = parts_[size_t(made_a)][1];
      } else if (made_b >= 0) {
        limit = made_b + 1;
        b = parts_[size_t(made_b)][0];
      } else {
        return true;  // two single characters
      }
    }
  }

  Options o_;
  MergeMap merges_;
  std::vector<int32_t> merged_;  // by rank: the id of the merged token
  int32_t byte_ids_[256] = {};
  std::vector<int32_t> char_ids_;  // by code point below U+3000, when no prefix/suffix
  std::vector<bool> whole_;             // by id: BPE makes the token of its own string (see find_whole_tokens)
  std::vector<std::array<int32_t, 2>> parts_;  // while loading, by rank: the merged pair
  std::vector<int32_t> made_at_;               // while loading, by id: the rank of the merge that makes a whole token
};

}  // namespace zest::detail
