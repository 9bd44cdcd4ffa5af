// Decoders of tokenizer.json: ByteLevel, WordPiece, Metaspace, ByteFallback, Fuse, Strip,
// Replace, BPEDecoder and Sequence, each turning token strings into text as HF's decode_chain.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "zest/io/json.hpp"
#include "zest/tokenizer/normalizers.hpp"
#include "zest/tokenizer/pre_tokenizers.hpp"
#include "zest/tokenizer/sequence.hpp"
#include "zest/tokenizer/utf8.hpp"

namespace zest::detail {

using Strings = std::vector<std::string>;

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void apply(Strings& tokens) const = 0;
};

inline std::vector<char32_t> chars_of(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());  // one allocation, not a growth per doubling: 231 -> 199 per fuzz_tokenizer_encode input
  for (size_t i = 0; i < s.size();) out.push_back(utf8::next(s, i));
  return out;
}

class ByteLevelDecoder final : public Decoder {
 public:
  void apply(Strings& tokens) const override {
    static const std::unordered_map<char32_t, char> bytes = [] {
      std::unordered_map<char32_t, char> m;
      for (int b = 0; b < 256; ++b) m[utf8::at(byte_chars()[b], 0)] = char(b);
      return m;
    }();
    std::string all;
    for (const auto& t : tokens) {
      std::string mapped;
      bool ok = true;
      for (size_t i = 0; i < t.size() && ok;) {
        auto it = bytes.find(utf8::next(t, i));
        if (it == bytes.end()) ok = false;
        else mapped += it->second;
      }
      all += ok ? mapped : t;
    }
    tokens.assign(1, utf8::replace_invalid(all));
  }
};

class WordPieceDecoder final : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void apply(Strings& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (t.compare(0, prefix_.size(), prefix_) == 0) t.erase(0, prefix_.size());
        else t.insert(0, " ");
      }
      if (cleanup_) t = cleanup(t);
    }
  }
  static std::string cleanup(std::string s) {
    static const std::pair<std::string_view, std::string_view> rules[] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
        {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : rules) s = replace_all(s, from, to);
    return s;
  }
  static std::string replace_all(const std::string& s, std::string_view from, std::string_view to) {
    std::string out;
    size_t prev = 0;
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, prev)) {
      out.append(s, prev, at - prev);
      out += to;
      prev = at + from.size();
    }
    out.append(s, prev);
    return out;
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool prepend) : r_(utf8::at(replacement, 0)), prepend_(prepend) {}
  void apply(Strings& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      for (char32_t c : chars_of(tokens[i])) {
        if (c != r_) utf8::append(out, c);
        else if (!(i == 0 && prepend_)) out += ' ';
      }
      tokens[i] = std::move(out);
    }
  }

 private:
  char32_t r_;
  bool prepend_;
};

class ByteFallbackDecoder final : public Decoder {
 public:
  void apply(Strings& tokens) const override {
    Strings out;
    out.reserve(tokens.size());  // never more than the tokens: 199 -> 180 allocations per fuzz input
    std::string bytes;
    auto flush = [&] {
      if (bytes.empty()) return;
      if (utf8::find_invalid(bytes) == std::string::npos) out.push_back(bytes);
      else
        for (size_t k = 0; k < bytes.size(); ++k) out.push_back("\xEF\xBF\xBD");
      bytes.clear();
    };
    for (auto& t : tokens) {
      int value = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') value = hex_byte(t[3], t[4]);
      if (value >= 0) {
        bytes += char(value);
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens = std::move(out);
  }

 private:
  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static int hex_byte(char a, char b) {
    const int h = hex_digit(a), l = hex_digit(b);
    return h < 0 || l < 0 ? -1 : h * 16 + l;
  }
};

class FuseDecoder final : public Decoder {
 public:
  void apply(Strings& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

class StripDecoder final : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop) : c_(content), start_(start), stop_(stop) {}
  void apply(Strings& tokens) const override {
    for (auto& t : tokens) {
      const auto chars = chars_of(t);
      size_t begin = 0, end = chars.size();
      for (size_t i = 0; i < start_ && i < chars.size() && chars[i] == c_; ++i) begin = i + 1;
      for (size_t i = 0; i < stop_ && i < chars.size() && chars[chars.size() - 1 - i] == c_; ++i)
        end = chars.size() - 1 - i;
      std::string out;
      for (size_t i = begin; i < end; ++i) utf8::append(out, chars[i]);
      t = std::move(out);
    }
  }

 private:
  char32_t c_;
  size_t start_, stop_;
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(PatternSpec pattern, std::string content)
      : replace_(std::move(pattern.literal), pattern.regex ? std::optional<Regex>(std::in_place, *pattern.regex) : std::nullopt,
                 std::move(content)) {}
  void apply(Strings& tokens) const override {
    for (auto& t : tokens) {
      Normalized n = Normalized::original(t, 0, false);
      replace_.apply(n);
      t = std::move(n.text);
    }
  }

 private:
  Replace replace_;
};

class BpeDecoder final : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void apply(Strings& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i)
      tokens[i] = WordPieceDecoder::replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
  }

 private:
  std::string suffix_;
};

inline std::unique_ptr<Decoder> make_decoder(const JsonRef& j) {
  if (j.is_null()) return nullptr;
  const std::string type = j.type();
  if (type == "Sequence") return make_sequence<Decoder>(j, "decoders", make_decoder);
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "WordPiece") return std::make_unique<WordPieceDecoder>(j.get_string("prefix", "##"), j.get_bool("cleanup", true));
  if (type == "Metaspace") {
    bool prepend = j.get_string("prepend_scheme", "always") != "never";
    if (j.has("add_prefix_space") && !j["add_prefix_space"].boolean()) prepend = false;
    const std::string r = j["replacement"].str();
    if (r.empty()) j["replacement"].error("empty replacement");
    return std::make_unique<MetaspaceDecoder>(r, prepend);
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    const std::string c = j["content"].str();
    if (c.empty()) j["content"].error("empty content");
    const auto start = j["start"].integer(), stop = j["stop"].integer();
    if (start < 0 || stop < 0) j.error("negative start or stop");
    return std::make_unique<StripDecoder>(utf8::at(c, 0), size_t(start), size_t(stop));
  }
  if (type == "Replace") return std::make_unique<ReplaceDecoder>(read_pattern(j["pattern"]), j["content"].str());
  if (type == "BPEDecoder") return std::make_unique<BpeDecoder>(j.get_string("suffix", "</w>"));
  j["type"].unsupported("decoder \"" + type + "\" is not supported by zest");
}

}  // namespace zest::detail
