// Normalizers of tokenizer.json: NFC/NFD/NFKC/NFKD, Lowercase, Strip, StripAccents, Replace,
// Prepend, BertNormalizer and Sequence. Each rewrites a Normalized, keeping alignments.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <utf8proc.h>

#include "zest/io/json.hpp"
#include "zest/tokenizer/normalized.hpp"
#include "zest/tokenizer/regex.hpp"
#include "zest/tokenizer/sequence.hpp"
#include "zest/tokenizer/unicode.hpp"

namespace zest::detail {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void apply(Normalized& n) const = 0;
};

// Calls f(c, span, rebuilder) for each character; f pushes what replaces it.
template <typename F>
void map_chars(Normalized& n, F&& f) {
  Rebuilder out(n);
  size_t i = 0;
  while (i < n.text.size()) {
    const size_t begin = i;
    const char32_t c = utf8::next(n.text, i);
    f(c, char_span(n, begin, i - begin), out);
  }
  n = out.take();
}

// Canonical decomposition (NFD) with alignment: full decomposition of each character, then
// marks reordered by combining class up to the next starter. keep(c) filters the result.
template <typename Keep>
void decompose(Normalized& n, bool compat, Keep&& keep) {
  struct Item {
    char32_t c;
    int ccc;
    Span span;
  };
  std::vector<Item> run;
  Rebuilder out(n);
  auto flush = [&] {
    const auto marks = run.begin() + (!run.empty() && run.front().ccc == 0 ? 1 : 0);
    std::stable_sort(marks, run.end(), [](const Item& a, const Item& b) { return a.ccc < b.ccc; });
    for (const auto& it : run)
      if (keep(it.c)) out.push(it.c, it.span);
    run.clear();
  };
  const int options = UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0);
  size_t i = 0;
  while (i < n.text.size()) {
    const size_t begin = i;
    const char32_t c = utf8::next(n.text, i);
    const Span span = char_span(n, begin, i - begin);
    utf8proc_int32_t buf[32];
    const auto count = c < 0x80 ? (buf[0] = utf8proc_int32_t(c), 1)
                                : utf8proc_decompose_char(utf8proc_int32_t(c), buf, 32,
                                                          utf8proc_option_t(options), nullptr);
    for (utf8proc_ssize_t k = 0; k < count && k < 32; ++k) {
      const int ccc = utf8proc_get_property(buf[k])->combining_class;
      if (ccc == 0) flush();
      run.push_back({char32_t(buf[k]), ccc, span});
    }
  }
  flush();
  n = out.take();
}

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(unicode::Form form) : form_(form) {}
  void apply(Normalized& n) const override {
    if (form_ == unicode::Form::nfd || form_ == unicode::Form::nfkd) {
      decompose(n, form_ == unicode::Form::nfkd, [](char32_t) { return true; });
      return;
    }
    // Composed forms: every byte keeps the span of the whole changed piece.
    std::string text = unicode::normalize(n.text, form_);
    if (text == n.text) return;
    Normalized out{std::move(text), {}, n.tracked, n.at_start};
    if (n.tracked) out.align.assign(out.text.size(), n.span(0, n.text.size()));
    n = std::move(out);
  }

 private:
  unicode::Form form_;
};

class Lowercase final : public Normalizer {
 public:
  void apply(Normalized& n) const override {
    map_chars(n, [](char32_t c, Span s, Rebuilder& out) {
      std::string l;
      unicode::append_lowercase(l, c);
      out.push(l, s);
    });
  }
};

class StripAccents final : public Normalizer {
 public:
  void apply(Normalized& n) const override {
    map_chars(n, [](char32_t c, Span s, Rebuilder& out) {
      if (!unicode::is_combining_mark(c)) out.push(c, s);
    });
  }
};

class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void apply(Normalized& n) const override {
    size_t begin = 0, end = n.text.size();
    if (left_) {
      while (begin < end) {
        size_t i = begin;
        if (!unicode::is_whitespace(utf8::next(n.text, i))) break;
        begin = i;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t j = end - 1;
        while (j > begin && (static_cast<unsigned char>(n.text[j]) & 0xC0) == 0x80) --j;
        if (!unicode::is_whitespace(utf8::at(n.text, j))) break;
        end = j;
      }
    }
    if (begin != 0 || end != n.text.size()) n = n.slice(begin, end);
  }

 private:
  bool left_, right_;
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void apply(Normalized& n) const override {
    if (n.text.empty()) return;
    Normalized out{prefix_ + n.text, {}, n.tracked, n.at_start};
    if (n.tracked) {
      out.align.assign(prefix_.size(), n.span(0, utf8::char_length(static_cast<unsigned char>(n.text[0]))));
      out.align.insert(out.align.end(), n.align.begin(), n.align.end());
    }
    n = std::move(out);
  }
  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
};

// Replace: a literal string or a regex, every non-overlapping match, leftmost first.
class Replace final : public Normalizer {
 public:
  Replace(std::string literal, std::optional<Regex> regex, std::string content)
      : literal_(std::move(literal)), regex_(std::move(regex)), content_(std::move(content)) {}

  void apply(Normalized& n) const override {
    std::vector<std::pair<size_t, size_t>> matches;
    if (regex_) {
      regex_->for_each_match(n.text, [&](size_t b, size_t e) {
        if (e > b) matches.emplace_back(b, e);
      });
    } else if (!literal_.empty()) {
      for (size_t at = n.text.find(literal_); at != std::string::npos; at = n.text.find(literal_, at + literal_.size()))
        matches.emplace_back(at, at + literal_.size());
    }
    if (matches.empty()) return;
    Rebuilder out(n);
    size_t prev = 0;
    for (auto [b, e] : matches) {
      push_range(n, prev, b, out);
      out.push(content_, n.tracked ? n.span(b, e) : Span{});
      prev = e;
    }
    push_range(n, prev, n.text.size(), out);
    n = out.take();
  }
  // Whether this replaces the string `from` (not a regex) by `to`.
  bool replaces(std::string_view from, std::string_view to) const { return !regex_ && literal_ == from && content_ == to; }

 private:
  static void push_range(const Normalized& n, size_t b, size_t e, Rebuilder& out) {
    for (size_t i = b; i < e;) {
      const size_t len = utf8::char_length(static_cast<unsigned char>(n.text[i]));
      out.push(std::string_view(n.text).substr(i, len), char_span(n, i, len));
      i += len;
    }
  }

  std::string literal_;
  std::optional<Regex> regex_;
  std::string content_;
};

// BertNormalizer: clean_text, handle_chinese_chars, strip_accents, lowercase, in HF's order.
class BertNormalizer final : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool chinese, bool strip_accents, bool lowercase)
      : clean_(clean_text), chinese_(chinese), strip_(strip_accents), lower_(lowercase) {}

  void apply(Normalized& n) const override {
    if (clean_ || chinese_) {
      map_chars(n, [&](char32_t c, Span s, Rebuilder& out) {
        if (clean_) {
          if (unicode::is_bert_removed(c)) return;
          if (unicode::is_whitespace(c)) {
            out.push(U' ', s);
            return;
          }
        }
        if (chinese_ && unicode::is_chinese(c)) {
          out.push(U' ', s);
          out.push(c, s);
          out.push(U' ', s);
          return;
        }
        out.push(c, s);
      });
    }
    if (strip_) decompose(n, false, [](char32_t c) { return !unicode::is_nonspacing_mark(c); });
    if (lower_) Lowercase().apply(n);
  }
  bool clean_text() const { return clean_; }
  bool lowercase() const { return lower_; }

 private:
  bool clean_, chinese_, strip_, lower_;
};

// The pattern of Replace and Split: {"String": "..."} or {"Regex": "..."}.
struct PatternSpec {
  std::string literal;
  std::optional<std::string> regex;
};

inline PatternSpec read_pattern(const JsonRef& j) {
  if (j.has("String")) return {j["String"].str(), std::nullopt};
  if (j.has("Regex")) return {"", j["Regex"].str()};
  j.error("expected {\"String\": ...} or {\"Regex\": ...}");
}

inline std::unique_ptr<Normalizer> make_normalizer(const JsonRef& j) {
  if (j.is_null()) return nullptr;
  const std::string type = j.type();
  if (type == "Sequence") return make_sequence<Normalizer>(j, "normalizers", make_normalizer);
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(unicode::Form::nfc);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(unicode::Form::nfd);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(unicode::Form::nfkc);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(unicode::Form::nfkd);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "Strip") return std::make_unique<Strip>(j.get_bool("strip_left", true), j.get_bool("strip_right", true));
  if (type == "Prepend") return std::make_unique<Prepend>(j["prepend"].str());
  if (type == "Replace") {
    PatternSpec p = read_pattern(j["pattern"]);
    std::optional<Regex> re;
    if (p.regex) re.emplace(*p.regex);
    return std::make_unique<Replace>(p.literal, std::move(re), j["content"].str());
  }
  if (type == "BertNormalizer") {
    const bool lower = j.get_bool("lowercase", true);
    return std::make_unique<BertNormalizer>(j.get_bool("clean_text", true), j.get_bool("handle_chinese_chars", true),
                                            j.has("strip_accents") ? j["strip_accents"].boolean() : lower, lower);
  }
  j["type"].unsupported("normalizer \"" + type + "\" is not supported by zest");
}

}  // namespace zest::detail
