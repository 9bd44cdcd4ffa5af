// Added tokens: found in the text before the model sees it (leftmost-longest), honouring
// single_word, lstrip and rstrip; the normalized ones are matched in normalized text.
#pragma once

#include <bitset>
#include <cstring>
#include <string>
#include <vector>

#include "zest/io/json.hpp"
#include "zest/tokenizer/model.hpp"
#include "zest/tokenizer/normalized.hpp"
#include "zest/tokenizer/normalizers.hpp"
#include "zest/tokenizer/unicode.hpp"
#include "zest/tokenizer/unigram.hpp"

namespace zest::detail {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false, lstrip = false, rstrip = false, normalized = true, single_word = false;
  std::string decoded;  // what decode shows: the content, normalized if the token is
};

// A found added token or the text between: bytes [begin, end), token index or -1, and for a
// token the bytes of its content alone (its offsets leave out the spaces lstrip/rstrip took).
struct AddedSplit {
  size_t begin, end;
  int32_t token;
  size_t content_begin = 0, content_end = 0;
};

class AddedTokens {
 public:
  AddedTokens() = default;

  // HF's add_tokens: a token takes the id its content already has (an earlier added token, then
  // the model's vocabulary), else the next id from the model's vocabulary size; the "id" in
  // the file is not used.
  AddedTokens(const JsonRef& list, const Normalizer* normalizer, const Vocab& vocab) {
    if (list.is_null()) return;
    int32_t next_id = int32_t(vocab.size());
    if (!list.is_array()) list.error("expected an array of added tokens");
    for (size_t i = 0; i < list.size(); ++i) {
      const JsonRef j = list[i];
      AddedToken t;
      t.content = j["content"].str();
      j["id"].id();  // checked, not used
      t.special = j.get_bool("special", false);
      t.lstrip = j.get_bool("lstrip", false);
      t.rstrip = j.get_bool("rstrip", false);
      t.single_word = j.get_bool("single_word", false);
      t.normalized = j.get_bool("normalized", !t.special);
      if (t.content.empty()) continue;
      utf8::check(t.content, j.file());
      if (const AddedToken* same = find(t.content)) t.id = same->id;
      else if (const int32_t id = vocab.find(t.content); id >= 0) t.id = id;
      else t.id = next_id++;
      t.decoded = t.content;
      if (t.normalized && normalizer) {
        Normalized n = Normalized::original(t.content, 0, false);
        normalizer->apply(n);
        t.decoded = n.text;
      }
      add(std::move(t));
    }
  }

  void add(AddedToken t) {
    const auto index = int32_t(tokens_.size());
    Matcher& m = t.normalized ? normalized_ : raw_;
    const std::string& key = t.normalized ? t.decoded : t.content;
    m.trie.insert(key, index);
    m.first_bytes.set(static_cast<unsigned char>(key[0]));
    m.first = key[0];
    m.any = true;
    by_content_.insert(t.content, index);
    tokens_.push_back(std::move(t));
  }

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  bool empty() const { return tokens_.empty(); }
  const AddedToken* find(std::string_view content) const {
    const int32_t i = by_content_.find(content);
    return i < 0 ? nullptr : &tokens_[size_t(i)];
  }
  const AddedToken* by_id(int32_t id) const {
    for (const auto& t : tokens_)
      if (t.id == id) return &t;
    return nullptr;
  }
  bool has_raw() const { return raw_.any; }
  bool has_normalized() const { return normalized_.any; }

  // Splits s into added tokens and the text between them (HF's find_matches).
  void split(std::string_view s, bool normalized, std::vector<AddedSplit>& out) const {
    const Matcher& m = normalized ? normalized_ : raw_;
    size_t start = 0;
    if (m.any) {
      size_t i = 0;
      while (i < s.size()) {
        if (m.first_bytes.count() == 1) {  // one first byte (often '<' or '['): memchr to it
          const void* at = std::memchr(s.data() + i, m.first, s.size() - i);
          if (!at) break;
          i = size_t(static_cast<const char*>(at) - s.data());
        } else if (!m.first_bytes.test(static_cast<unsigned char>(s[i]))) {
          ++i;
          continue;
        }
        size_t len = 0;
        int32_t index = -1;
        m.trie.prefixes(s.substr(i), [&](size_t n, int32_t v) { len = n, index = v; });
        if (index < 0) {
          ++i;
          continue;
        }
        const AddedToken& t = tokens_[size_t(index)];
        size_t b = i, e = i + len;
        const size_t match_begin = b, match_end = e;
        i = e;
        if (t.single_word) {
          const bool space_before = b == 0 || !word_char_before(s, b);
          const bool space_after = e == s.size() || !word_char_after(s, e);
          if (!space_before || !space_after) continue;
        }
        if (t.lstrip) {
          size_t nb = b;
          while (nb > 0) {
            size_t k = nb - 1;
            while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
            if (!unicode::is_whitespace(utf8::at(s, k))) break;
            nb = k;
          }
          b = std::max(nb, start);
        }
        if (t.rstrip) {
          while (e < s.size()) {
            size_t k = e;
            if (!unicode::is_whitespace(utf8::next(s, k))) break;
            e = k;
          }
          // The search goes on from the match's end, as HF's: a following added token may
          // still match inside the stripped spaces and is kept.
        }
        if (start < b) out.push_back({start, b, -1});
        out.push_back({b, e, index, match_begin, match_end});
        start = e;
      }
    }
    if (start < s.size() || s.empty()) out.push_back({start, s.size(), -1});
  }

 private:
  struct Matcher {
    ByteTrie trie;
    std::bitset<256> first_bytes;
    char first = 0;  // the first byte, when there is only one
    bool any = false;
  };

  static bool word_char_before(std::string_view s, size_t at) {
    size_t k = at - 1;
    while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
    return unicode::is_word_char(utf8::at(s, k));
  }
  static bool word_char_after(std::string_view s, size_t at) { return unicode::is_word_char(utf8::at(s, at)); }

  std::vector<AddedToken> tokens_;
  StringMap by_content_;
  Matcher raw_, normalized_;
};

}  // namespace zest::detail
