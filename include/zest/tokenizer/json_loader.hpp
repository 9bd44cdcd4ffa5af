// The tokenizer.json loader (its time: `load/NAME` in bench/tokenizer, `load_ms` of
// zest-tokenize --bench; bench/README.md): one pass of JsonReader that builds the JSON tree for
// everything except the model's big tables (vocab, merges), which go straight into flat
// vectors. When the text or those tables are not of the expected shape, the caller parses
// again the plain way, which names the JSON path of the fault. The SAX handler builds the
// tree itself, with nlohmann's public interface only.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zest/tokenizer/json_reader.hpp"

namespace zest::detail {

// The strings of the tables lie one after another in one buffer: 50,000 tokens cost a few
// large allocations at load, not one string object each.
struct ModelTables {
  struct Str {
    uint32_t offset, size;
    Str slice(size_t from, size_t n) const { return {offset + uint32_t(from), uint32_t(n)}; }
  };
  bool vocab_ids_given = false, vocab_scores_given = false, merges_given = false;
  std::vector<std::pair<Str, int64_t>> vocab_ids;  // BPE/WordPiece {"token": id}
  std::vector<std::pair<Str, double>> vocab_scores;     // Unigram [["piece", score]]
  std::vector<std::pair<Str, Str>> merges;              // "a b" or ["a", "b"]
  std::string strings;

  std::string_view str(Str s) const { return std::string_view(strings).substr(s.offset, s.size); }
  Str add(std::string_view s) {
    const Str at{uint32_t(strings.size()), uint32_t(s.size())};
    strings += s;
    return at;
  }
};

class TokenizerJsonSax {
 public:
  using json = nlohmann::json;
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  TokenizerJsonSax(json& root, ModelTables& tables) : root_(root), tables_(tables) {}

  bool null() { return capture_ ? capture_scalar() : put(nullptr); }
  bool boolean(bool v) { return capture_ ? capture_scalar() : put(v); }
  bool number_integer(number_integer_t v) { return capture_ ? capture_number(double(v), v, true) : put(v); }
  bool number_unsigned(number_unsigned_t v) {
    return capture_ ? capture_number(double(v), int64_t(v), v <= INT64_MAX) : put(v);
  }
  bool number_float(number_float_t v, const string_t&) { return capture_ ? capture_number(v, 0, false) : put(v); }
  bool binary(binary_t&) { return false; }  // not in JSON text

  bool string(string_t& s) {
    if (!capture_) return put(s);
    if (capture_ == Capture::merges && depth_ == 1) {  // "a b"
      const auto space = s.find(' ');
      if (space == string_t::npos || s.find(' ', space + 1) != string_t::npos) return false;
      const ModelTables::Str both = tables_.add(s);
      tables_.merges.emplace_back(both.slice(0, space), both.slice(space + 1, s.size() - space - 1));
      return true;
    }
    if (depth_ == 2 && element_.size() < 2) {
      element_.push_back(tables_.add(s));
      return true;
    }
    return false;
  }

  bool start_object(size_t) {
    if (capture_) return false;  // no objects inside the tables
    if (is_table("vocab")) {
      begin(Capture::vocab_object);
      return true;
    }
    keys_.emplace_back();
    return open(json::object());
  }
  bool key(string_t& k) {
    if (capture_ == Capture::vocab_object) {
      pending_key_ = tables_.add(k);
      return true;
    }
    if (capture_) return false;
    keys_.back() = k;
    slot_ = &(*open_.back())[k];  // a repeated key: the last value wins, as in nlohmann::json::parse
    return true;
  }
  bool end_object() {
    if (capture_ == Capture::vocab_object) return end_capture();
    return close();
  }

  bool start_array(size_t) {
    if (capture_) {
      if (depth_ != 1) return false;
      depth_ = 2;
      element_.clear();
      scores_.clear();
      return true;
    }
    if (is_table("vocab")) {
      begin(Capture::vocab_array);
      return true;
    }
    if (is_table("merges")) {
      begin(Capture::merges);
      return true;
    }
    keys_.emplace_back();
    return open(json::array());
  }
  bool end_array() {
    if (capture_) {
      if (depth_ == 1) return end_capture();
      depth_ = 1;
      if (capture_ == Capture::merges) {
        if (element_.size() != 2 || !scores_.empty()) return false;
        tables_.merges.emplace_back(element_[0], element_[1]);
        return true;
      }
      if (element_.size() != 1 || scores_.size() != 1) return false;  // ["piece", score]
      tables_.vocab_scores.emplace_back(element_[0], scores_[0]);
      return true;
    }
    return close();
  }

  bool parse_error(size_t, const std::string&, const json::exception&) { return false; }

 private:
  enum Capture { none = 0, vocab_object, vocab_array, merges };  // plain enum: tested as a bool

  // A table of the model object at $.model.<name>.
  bool is_table(std::string_view name) const {
    return keys_.size() == 2 && keys_[0] == "model" && keys_[1] == name;
  }
  void begin(Capture c) {
    capture_ = c;
    depth_ = 1;
    if (c == Capture::vocab_object) tables_.vocab_ids_given = true;
    if (c == Capture::vocab_array) tables_.vocab_scores_given = true;
    if (c == Capture::merges) tables_.merges_given = true;
  }
  bool end_capture() {
    capture_ = Capture::none;
    return put(nullptr);  // the table's place in the tree
  }
  bool capture_scalar() { return false; }
  bool capture_number(double d, int64_t i, bool integral) {
    if (capture_ == Capture::vocab_object && depth_ == 1) {
      if (!integral) return false;
      tables_.vocab_ids.emplace_back(pending_key_, i);
      return true;
    }
    if (capture_ == Capture::vocab_array && depth_ == 2) {
      scores_.push_back(d);
      return true;
    }
    return false;
  }

  // The tree, built as nlohmann::json::parse builds it: a value goes into the innermost open
  // container, an array's end or the slot of an object's last key. The containers outside it
  // do not grow while it is open, so their addresses hold.
  template <typename Value>
  json* insert(Value&& v) {
    if (open_.empty()) return &(root_ = std::forward<Value>(v));
    json& top = *open_.back();
    if (top.is_array()) return &top.emplace_back(std::forward<Value>(v));
    return &(*slot_ = std::forward<Value>(v));
  }
  template <typename Value>
  bool put(Value&& v) {
    insert(std::forward<Value>(v));
    return true;
  }
  bool open(json container) {
    open_.push_back(insert(std::move(container)));
    return true;
  }
  bool close() {
    keys_.pop_back();
    open_.pop_back();
    return true;
  }

  json& root_;
  std::vector<json*> open_;  // the open containers of the tree, outermost first
  json* slot_ = nullptr;     // the value of the innermost open object's last key
  ModelTables& tables_;
  std::vector<std::string> keys_;  // the key (or "") of each open container of the tree
  Capture capture_ = Capture::none;
  int depth_ = 0;  // 1: in the table, 2: in one of its elements
  ModelTables::Str pending_key_{};
  std::vector<ModelTables::Str> element_;
  std::vector<double> scores_;
};

// Parses tokenizer.json text; false when it is not valid JSON or the tables are unusual.
inline bool parse_tokenizer_json(std::string_view text, nlohmann::json& root, ModelTables& tables) {
  if (text.size() > UINT32_MAX) return false;  // ModelTables::Str offsets are 32-bit: the plain way
  tables.strings.reserve(text.size());  // no string of the text is longer unescaped
  TokenizerJsonSax sax(root, tables);
  // JsonReader rather than nlohmann::json::sax_parse: gpt2's tokenizer.json loads in 20.0 ms
  // with it, 26.1 ms with sax_parse (bench/tokenizer/bench_tokenizer.cpp: load_with).
  const bool ok = JsonReader(text, sax).parse();
  if (!ok) {
    root = nlohmann::json();
    tables = ModelTables{};
  }
  return ok;
}

}  // namespace zest::detail
