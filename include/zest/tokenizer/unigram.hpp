// Unigram: the Viterbi path of highest total score over every vocabulary piece (found with a
// byte trie), unknown characters scored min_score - 10 and fused, then byte fallback for the
// unknowns, exactly as Hugging Face's encode_optimized.
#pragma once

#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "zest/error.hpp"
#include "zest/tokenizer/model.hpp"
#include "zest/tokenizer/utf8.hpp"

namespace zest::detail {

// A byte trie: node -> child by byte through one flat hash of (node, byte).
class ByteTrie {
 public:
  ByteTrie() { values_.push_back(-1); }

  void insert(std::string_view key, int32_t value) {
    uint32_t node = 0;
    for (unsigned char c : key) {
      int32_t child = children_.find(node, c).id;
      if (child < 0) {
        child = int32_t(values_.size());
        values_.push_back(-1);
        children_.insert(int32_t(node), c, {0, child});
      }
      node = uint32_t(child);
    }
    values_[node] = value;
  }

  // Calls f(length, value) for every key that is a prefix of s, shortest first.
  template <typename F>
  void prefixes(std::string_view s, F&& f) const {
    uint32_t node = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      const int32_t child = children_.find(int32_t(node), static_cast<unsigned char>(s[i])).id;
      if (child < 0) return;
      node = uint32_t(child);
      if (values_[node] >= 0) f(i + 1, values_[node]);
    }
  }

 private:
  PairMap children_;
  std::vector<int32_t> values_;
};

class Unigram final : public Model {
 public:
  static std::unique_ptr<Unigram> from_json(const JsonRef& j, const ModelTables& t) {
    auto u = std::make_unique<Unigram>();
    double min_score = std::numeric_limits<double>::infinity();
    auto add = [&](std::string_view piece, double score, size_t i) {
      u->vocab_.add(piece, int32_t(i));
      u->scores_.push_back(score);
      u->trie_.insert(piece, int32_t(i));
      min_score = std::min(min_score, score);
    };
    if (t.vocab_scores_given) {
      u->scores_.reserve(t.vocab_scores.size());
      for (size_t i = 0; i < t.vocab_scores.size(); ++i) add(t.str(t.vocab_scores[i].first), t.vocab_scores[i].second, i);
    } else {
      const JsonRef vocab = j["vocab"];
      if (!vocab.is_array()) vocab.error("expected an array of [piece, score]");
      u->scores_.reserve(vocab.size());
      for (size_t i = 0; i < vocab.size(); ++i) {
        const JsonRef e = vocab[i];
        if (!e.is_array() || e.size() != 2) e.error("expected [piece, score]");
        add(e[0].str(), e[1].number(), i);
      }
    }
    u->unk_score_ = min_score - 10.0;
    if (j.has("unk_id")) {
      const JsonRef unk = j["unk_id"];
      u->unk_ = unk.id();
      if (size_t(u->unk_) >= u->scores_.size()) unk.error("unk_id is outside the vocabulary");
    }
    u->byte_fallback_ = j.get_bool("byte_fallback", false);
    if (u->byte_fallback_) {
      char name[8];
      for (int b = 0; b < 256; ++b) {
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        u->byte_ids_[b] = u->vocab_.find(name);
      }
    }
    return u;
  }

  void tokenize(std::string_view s, std::vector<Token>& out) const override {
    if (s.empty()) return;
    struct Node {
      double score = 0;
      int32_t start = -1, id = -1;
    };
    thread_local std::vector<Node> best;
    best.assign(s.size() + 1, Node{});
    best[0].start = 0;
    for (size_t at = 0; at < s.size();) {
      const double here = best[at].score;
      const size_t len = utf8::char_length(static_cast<unsigned char>(s[at]));
      bool single = false;
      trie_.prefixes(s.substr(at), [&](size_t n, int32_t id) {
        Node& t = best[at + n];
        const double cand = here + scores_[size_t(id)];
        if (t.start < 0 || cand > t.score) t = {cand, int32_t(at), id};
        if (n == len) single = true;
      });
      if (!single) {
        if (unk_ < 0) fail(Error::Kind::config, "Unigram: a character is not in the vocabulary and there is no unk_id");
        Node& t = best[at + len];
        const double cand = here + unk_score_;
        if (t.start < 0 || cand > t.score) t = {cand, int32_t(at), unk_};
      }
      at += len;
    }
    // Walk back; consecutive unknowns fuse into one piece.
    thread_local std::vector<std::pair<uint32_t, uint32_t>> pieces;  // (begin, end)
    thread_local std::vector<bool> unknown;
    pieces.clear();
    unknown.clear();
    for (size_t end = s.size(); end > 0;) {
      const Node& n = best[end];
      const auto start = uint32_t(n.start);
      const bool unk = n.id == unk_;
      if (unk && !unknown.empty() && unknown.back()) {
        pieces.back().first = start;
      } else {
        pieces.push_back({start, uint32_t(end)});
        unknown.push_back(unk);
      }
      end = start;
    }
    for (size_t k = pieces.size(); k-- > 0;) {
      const auto [b, e] = pieces[k];
      const std::string_view piece = s.substr(b, e - b);
      int32_t id = vocab_.find(piece);
      if (id < 0 && byte_fallback_) {
        bool all = true;
        for (char c : piece) all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
        if (all) {
          for (char c : piece) out.push_back({byte_ids_[static_cast<unsigned char>(c)], b, e});
          continue;
        }
      }
      if (id < 0) id = unk_;
      out.push_back({id, b, e});
    }
  }

 private:
  std::vector<double> scores_;
  ByteTrie trie_;
  double unk_score_ = 0;
  int32_t unk_ = -1;
  bool byte_fallback_ = false;
  int32_t byte_ids_[256] = {};
};

}  // namespace zest::detail
