// Pre-tokenizers of tokenizer.json: ByteLevel, Whitespace, WhitespaceSplit, BertPreTokenizer,
// Metaspace, Split (any regex, every behavior), Digits, Punctuation and Sequence. Each turns
// every piece into sub-pieces (words) that the model tokenizes independently.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zest/io/json.hpp"
#include "zest/tokenizer/normalized.hpp"
#include "zest/tokenizer/normalizers.hpp"
#include "zest/tokenizer/regex.hpp"
#include "zest/tokenizer/scanners.hpp"
#include "zest/tokenizer/sequence.hpp"
#include "zest/tokenizer/unicode.hpp"

namespace zest::detail {

enum class Behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

struct Match {
  size_t begin, end;
  bool is_match;
};

// Applies a split behavior to matches covering a piece (HF's NormalizedString::split) and
// appends the non-empty results to out.
inline void split_by(const Normalized& piece, const std::vector<Match>& matches, Behavior behavior,
                     std::vector<Normalized>& out) {
  std::vector<Match> parts;  // is_match here means "remove"
  parts.reserve(matches.size());
  switch (behavior) {
    case Behavior::removed:
      parts = matches;
      break;
    case Behavior::isolated:
      for (const auto& m : matches) parts.push_back({m.begin, m.end, false});
      break;
    case Behavior::contiguous: {
      bool previous = false;
      for (const auto& m : matches) {
        if (m.is_match == previous && !parts.empty()) parts.back().end = m.end;
        else parts.push_back({m.begin, m.end, false});
        previous = m.is_match;
      }
      break;
    }
    case Behavior::merged_with_previous: {
      bool previous = false;
      for (const auto& m : matches) {
        if (m.is_match && !previous && !parts.empty()) parts.back().end = m.end;
        else parts.push_back({m.begin, m.end, false});
        previous = m.is_match;
      }
      break;
    }
    case Behavior::merged_with_next: {
      bool previous = false;
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        if (it->is_match && !previous && !parts.empty()) parts.back().begin = it->begin;
        else parts.push_back({it->begin, it->end, false});
        previous = it->is_match;
      }
      std::reverse(parts.begin(), parts.end());
      break;
    }
  }
  for (const auto& p : parts)
    if (!p.is_match && p.end > p.begin) out.push_back(piece.slice(p.begin, p.end));
}

// Matches of a character predicate: each matching character is its own match.
template <typename Pred>
std::vector<Match> char_matches(std::string_view s, Pred&& pred) {
  std::vector<Match> m;
  size_t last = 0, i = 0;
  while (i < s.size()) {
    const size_t b = i;
    const char32_t c = utf8::next(s, i);
    if (pred(c)) {
      if (last < b) m.push_back({last, b, false});
      m.push_back({b, i, true});
      last = i;
    }
  }
  if (last < s.size()) m.push_back({last, s.size(), false});
  return m;
}

// Matches of a splitter calling emit(begin, end), gaps included.
template <typename Scan>
std::vector<Match> scan_matches(std::string_view s, Scan&& scan) {
  std::vector<Match> m;
  size_t prev = 0;
  scan(s, [&](size_t b, size_t e) {
    if (prev != b) m.push_back({prev, b, false});
    m.push_back({b, e, true});
    prev = e;
  });
  if (prev != s.size()) m.push_back({prev, s.size(), false});
  return m;
}

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces each piece by its sub-pieces.
  virtual void apply(std::vector<Normalized>& pieces) const = 0;
};

// A pre-tokenizer that splits each piece on its own: all of them but Sequence.
class PieceSplitter : public PreTokenizer {
 public:
  void apply(std::vector<Normalized>& pieces) const final {
    std::vector<Normalized> out;
    out.reserve(pieces.size() * 4);
    for (auto& p : pieces) split(p, out);
    pieces = std::move(out);
  }
  virtual void split(Normalized& piece, std::vector<Normalized>& out) const = 0;
};

// GPT-2's byte-to-character map: printable bytes stand for themselves, the others for U+0100...
inline const std::array<std::string, 256>& byte_chars() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[b] = utf8::encode(printable ? char32_t(b) : char32_t(256 + n++));
    }
    return t;
  }();
  return table;
}

// The same characters as fixed-size codes (each is 1 or 2 UTF-8 bytes): a word is mapped with
// one 2-byte copy per byte, without a string's size and data to load.
struct ByteChar {
  char bytes[2];  // a 1-byte character's second is 0
  uint8_t size;
};
inline const std::array<ByteChar, 256>& byte_char_codes() {
  static const std::array<ByteChar, 256> table = [] {
    std::array<ByteChar, 256> t{};
    for (int b = 0; b < 256; ++b) {
      const std::string& c = byte_chars()[b];
      t[b] = {{c[0], c.size() > 1 ? c[1] : '\0'}, uint8_t(c.size())};
    }
    return t;
  }();
  return table;
}

// Maps every byte of a piece to its ByteLevel character.
inline Normalized byte_level_map(const Normalized& piece) {
  const auto& chars = byte_chars();
  Rebuilder out(piece);
  for (size_t i = 0; i < piece.text.size(); ++i)
    out.push(chars[static_cast<unsigned char>(piece.text[i])], piece.tracked ? piece.align[i] : Span{});
  return out.take();
}

class ByteLevelPre final : public PieceSplitter {
 public:
  ByteLevelPre(bool add_prefix_space, bool use_regex) : prefix_(add_prefix_space), regex_(use_regex) {}
  void split(Normalized& piece, std::vector<Normalized>& out) const override {
    if (prefix_ && (piece.text.empty() || piece.text[0] != ' ')) Prepend(" ").apply(piece);
    std::vector<Normalized> words;
    if (regex_) {
      split_by(piece, scan_matches(piece.text, [](std::string_view s, auto&& emit) { scan_gpt2(s, emit); }),
               Behavior::isolated, words);
    } else if (!piece.text.empty()) {
      words.push_back(std::move(piece));
    }
    for (const auto& w : words) out.push_back(byte_level_map(w));
  }
  bool add_prefix_space() const { return prefix_; }
  bool use_regex() const { return regex_; }

 private:
  bool prefix_, regex_;
};

class WhitespaceSplit final : public PieceSplitter {
 public:
  void split(Normalized& piece, std::vector<Normalized>& out) const override {
    split_by(piece, char_matches(piece.text, unicode::is_whitespace), Behavior::removed, out);
  }
};

// Whitespace: \w+|[^\w\s]+ with the gaps removed.
class Whitespace final : public PieceSplitter {
 public:
  void split(Normalized& piece, std::vector<Normalized>& out) const override {
    auto matches = scan_matches(piece.text, [](std::string_view s, auto&& emit) {
      size_t i = 0;
      while (i < s.size()) {
        size_t j = i;
        const int k = kind(utf8::next(s, j));
        if (k == 0) {
          i = j;
          continue;
        }
        size_t e = j;
        while (e < s.size()) {
          size_t t = e;
          if (kind(utf8::next(s, t)) != k) break;
          e = t;
        }
        emit(i, e);
        i = e;
      }
    });
    for (auto& m : matches) m.is_match = !m.is_match;
    split_by(piece, matches, Behavior::removed, out);
  }

 private:
  // 0: whitespace, 1: word character (\w), 2: other.
  static int kind(char32_t c) {
    if (unicode::is_whitespace(c)) return 0;
    return unicode::is_word_char(c) ? 1 : 2;
  }
};

class BertPre final : public PieceSplitter {
 public:
  void split(Normalized& piece, std::vector<Normalized>& out) const override {
    std::vector<Normalized> words;
    split_by(piece, char_matches(piece.text, unicode::is_whitespace), Behavior::removed, words);
    for (const auto& w : words) split_by(w, char_matches(w.text, unicode::is_bert_punctuation), Behavior::isolated, out);
  }
};

class Punctuation final : public PieceSplitter {
 public:
  explicit Punctuation(Behavior b) : behavior_(b) {}
  void split(Normalized& piece, std::vector<Normalized>& out) const override {
    split_by(piece, char_matches(piece.text, unicode::is_bert_punctuation), behavior_, out);
  }

 private:
  Behavior behavior_;
};

class Digits final : public PieceSplitter {
 public:
  explicit Digits(bool individual) : individual_(individual) {}
  void split(Normalized& piece, std::vector<Normalized>& out) const override {
    split_by(piece, char_matches(piece.text, unicode::is_number),
             individual_ ? Behavior::isolated : Behavior::contiguous, out);
  }

 private:
  bool individual_;
};

class Metaspace final : public PieceSplitter {
 public:
  enum class Scheme { always, first, never };
  Metaspace(std::string replacement, Scheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}

  void split(Normalized& piece, std::vector<Normalized>& out) const override {
    Replace(" ", std::nullopt, replacement_).apply(piece);
    const bool starts = piece.text.compare(0, replacement_.size(), replacement_) == 0;
    if (!starts && (scheme_ == Scheme::always || (scheme_ == Scheme::first && piece.at_start))) {
      Prepend(replacement_).apply(piece);
    }
    if (!split_) {
      if (!piece.text.empty()) out.push_back(std::move(piece));
      return;
    }
    const char32_t r = utf8::at(replacement_, 0);
    split_by(piece, char_matches(piece.text, [r](char32_t c) { return c == r; }), Behavior::merged_with_next, out);
  }
  const std::string& replacement() const { return replacement_; }

 private:
  std::string replacement_;
  Scheme scheme_;
  bool split_;
};

class Split final : public PieceSplitter {
 public:
  Split(PatternSpec pattern, Behavior behavior, bool invert)
      : regex_(pattern.regex ? *pattern.regex : escape(pattern.literal)), behavior_(behavior), invert_(invert),
        gpt2_(pattern.regex && *pattern.regex == gpt2_pattern),
        digits_(pattern.regex && *pattern.regex == cl100k_pattern ? 3 : pattern.regex && *pattern.regex == qwen2_pattern ? 1 : 0) {}

  static constexpr std::string_view gpt2_pattern =
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

  static constexpr std::string_view cl100k_pattern =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static constexpr std::string_view qwen2_pattern =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

  void split(Normalized& piece, std::vector<Normalized>& out) const override {
    std::vector<Match> matches;
    if (piece.text.empty()) {
      matches.push_back({0, 0, false});
    } else if (gpt2_) {
      matches = scan_matches(piece.text, [](std::string_view s, auto&& emit) { scan_gpt2(s, emit); });
    } else if (digits_) {
      matches = scan_matches(piece.text, [this](std::string_view s, auto&& emit) { scan_cl100k(s, digits_, emit); });
    } else {
      matches = scan_matches(piece.text, [this](std::string_view s, auto&& emit) { regex_.for_each_match(s, emit); });
    }
    if (invert_)
      for (auto& m : matches) m.is_match = !m.is_match;
    split_by(piece, matches, behavior_, out);
  }

 private:
  static std::string escape(std::string_view literal) {
    std::string out;
    for (char c : literal) {
      if (std::string_view("\\^$.|?*+()[]{}-#&~ \t\n").find(c) != std::string_view::npos) {
        if (c == ' ') { out += "\\x20"; continue; }
        if (c == '\t') { out += "\\t"; continue; }
        if (c == '\n') { out += "\\n"; continue; }
        out += '\\';
      }
      out += c;
    }
    return out;
  }

  Regex regex_;
  Behavior behavior_;
  bool invert_;
  bool gpt2_;
  size_t digits_;  // 3: the cl100k scanner, 1: Qwen2's, 0: neither
};

inline Behavior read_behavior(const JsonRef& j) {
  const std::string b = j.str();
  if (b == "Removed") return Behavior::removed;
  if (b == "Isolated") return Behavior::isolated;
  if (b == "MergedWithPrevious") return Behavior::merged_with_previous;
  if (b == "MergedWithNext") return Behavior::merged_with_next;
  if (b == "Contiguous") return Behavior::contiguous;
  j.error("unknown split behavior \"" + b + "\"");
}

inline std::unique_ptr<PreTokenizer> make_pre_tokenizer(const JsonRef& j) {
  if (j.is_null()) return nullptr;
  const std::string type = j.type();
  if (type == "Sequence") return make_sequence<PreTokenizer>(j, "pretokenizers", make_pre_tokenizer);
  if (type == "ByteLevel") return std::make_unique<ByteLevelPre>(j.get_bool("add_prefix_space", true), j.get_bool("use_regex", true));
  if (type == "Whitespace") return std::make_unique<Whitespace>();
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplit>();
  if (type == "BertPreTokenizer") return std::make_unique<BertPre>();
  if (type == "Digits") return std::make_unique<Digits>(j.get_bool("individual_digits", false));
  if (type == "Punctuation") return std::make_unique<Punctuation>(j.has("behavior") ? read_behavior(j["behavior"]) : Behavior::isolated);
  if (type == "Split") return std::make_unique<Split>(read_pattern(j["pattern"]), read_behavior(j["behavior"]), j.get_bool("invert", false));
  if (type == "Metaspace") {
    auto scheme = Metaspace::Scheme::always;
    if (j.has("prepend_scheme")) {
      const std::string s = j["prepend_scheme"].str();
      if (s == "first") scheme = Metaspace::Scheme::first;
      else if (s == "never") scheme = Metaspace::Scheme::never;
      else if (s != "always") j["prepend_scheme"].error("unknown prepend_scheme \"" + s + "\"");
    }
    if (j.has("add_prefix_space") && !j["add_prefix_space"].boolean()) scheme = Metaspace::Scheme::never;
    const std::string replacement = j["replacement"].str();
    if (replacement.empty()) j["replacement"].error("empty replacement");
    return std::make_unique<Metaspace>(replacement, scheme, j.get_bool("split", true));
  }
  j["type"].unsupported("pre-tokenizer \"" + type + "\" is not supported by zest");
}

}  // namespace zest::detail
