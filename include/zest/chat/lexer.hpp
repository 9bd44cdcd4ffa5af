// Jinja's lexer with transformers' settings: trim_blocks (the first newline after a block or
// comment tag goes), lstrip_blocks (spaces and tabs from a line's start to a block or comment tag
// go), `{%-`/`-%}` strip all whitespace on that side, `{%+`/`+%}` keep it; newlines normalised to
// "\n" and one trailing newline dropped (keep_trailing_newline=False), as jinja2 does.
#pragma once

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "zest/chat/text.hpp"
#include "zest/error.hpp"

namespace zest::detail::jinja {

enum class Tok : uint8_t { data, var_begin, var_end, block_begin, block_end, name, string, integer, floating, op, eof };

struct Token {
  Tok type = Tok::eof;
  std::string text;  // data, name, string value, operator
  int64_t i = 0;
  double f = 0;
  size_t pos = 0;  // byte offset in the normalised source
};

// 1-based line and column (in characters) of a byte offset.
inline std::pair<int, int> line_column(std::string_view source, size_t pos) {
  int line = 1;
  size_t line_start = 0;
  for (size_t k = 0; k < pos && k < source.size(); ++k)
    if (source[k] == '\n') {
      ++line;
      line_start = k + 1;
    }
  return {line, int(code_points(source.substr(line_start, pos - line_start))) + 1};
}

[[noreturn]] inline void syntax_error(std::string_view source, size_t pos, const std::string& message) {
  const auto [line, column] = line_column(source, pos);
  fail(Error::Kind::format, "chat template: ", message, " at line ", line, ", column ", column);
}

// jinja2's newline handling: \r\n and \r become \n; one trailing newline is dropped.
inline std::string normalize_source(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t k = 0; k < source.size(); ++k) {
    if (source[k] == '\r') {
      out += '\n';
      if (k + 1 < source.size() && source[k + 1] == '\n') ++k;
    } else {
      out += source[k];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(source) {}

  std::vector<Token> run() {
    bool line_starting = true;
    while (pos_ < src_.size()) {
      const size_t start = find_tag(pos_);
      if (start == std::string_view::npos) {
        push_data(src_.substr(pos_), pos_);
        break;
      }
      std::string_view text = src_.substr(pos_, start - pos_);
      const char opener = src_[start + 1];
      const char sign = start + 2 < src_.size() && (src_[start + 2] == '-' || src_[start + 2] == '+') ? src_[start + 2] : 0;
      if (sign == '-') {
        text = py_strip(text, false, true);
      } else if (sign != '+' && opener != '{') {
        // lstrip_blocks: only spaces and tabs (any whitespace but a newline) between the line's start
        // and the tag.
        const size_t nl = text.rfind('\n');
        const size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
        if ((l_pos > 0 || line_starting) && l_pos < text.size() && all_space(text.substr(l_pos)))
          text = text.substr(0, l_pos);
      }
      push_data(text, pos_);
      pos_ = start + 2 + (sign != 0);
      if (opener == '#') {
        skip_comment(start);
      } else if (opener == '%' && try_raw(start, sign)) {
        // raw block consumed
      } else {
        tokens_.push_back(Token{opener == '{' ? Tok::var_begin : Tok::block_begin, {}, 0, 0, start});
        lex_tag(opener == '{' ? '}' : '%', start);
      }
      line_starting = pos_ > 0 && src_[pos_ - 1] == '\n';
    }
    tokens_.push_back(Token{Tok::eof, {}, 0, 0, src_.size()});
    return std::move(tokens_);
  }

 private:
  std::string_view src_;
  size_t pos_ = 0;
  std::vector<Token> tokens_;

  static bool all_space(std::string_view s) { return py_strip(s, true, false).empty(); }

  size_t find_tag(size_t from) const {
    for (size_t k = src_.find('{', from); k != std::string_view::npos; k = src_.find('{', k + 1))
      if (k + 1 < src_.size() && (src_[k + 1] == '{' || src_[k + 1] == '%' || src_[k + 1] == '#')) return k;
    return std::string_view::npos;
  }

  void push_data(std::string_view text, size_t at) {
    if (!text.empty()) tokens_.push_back(Token{Tok::data, std::string(text), 0, 0, at});
  }

  // After a closing tag: `-` strips all following whitespace, `+` none, else trim_blocks: one newline.
  void after_close(char sign) {
    if (sign == '-') {
      const std::string_view rest = py_strip(src_.substr(pos_), true, false);
      pos_ = src_.size() - rest.size();
    } else if (sign != '+' && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
    }
  }

  void skip_comment(size_t start) {
    const size_t end = src_.find("#}", pos_);
    if (end == std::string_view::npos) syntax_error(src_, start, "missing end of comment tag");
    const char sign = end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : 0;
    pos_ = end + 2;
    after_close(sign);
  }

  // {% raw %}...{% endraw %}: the text between, untouched.
  bool try_raw(size_t start, char sign) {
    size_t k = pos_;
    const auto skip_ws = [&] {
      while (k < src_.size() && py_isspace(char32_t(static_cast<unsigned char>(src_[k])))) ++k;
    };
    skip_ws();
    if (src_.compare(k, 3, "raw") != 0) return false;
    k += 3;
    if (k < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[k])) || src_[k] == '_')) return false;
    skip_ws();
    char close_sign = 0;
    if (k < src_.size() && (src_[k] == '-' || src_[k] == '+')) close_sign = src_[k++];
    if (src_.compare(k, 2, "%}") != 0) syntax_error(src_, start, "malformed raw tag");
    pos_ = k + 2;
    after_close(close_sign);
    // Find {%[-+]? endraw [-+]?%}.
    for (size_t at = src_.find("{%", pos_); at != std::string_view::npos; at = src_.find("{%", at + 2)) {
      size_t q = at + 2;
      char open_sign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) open_sign = src_[q++];
      while (q < src_.size() && py_isspace(char32_t(static_cast<unsigned char>(src_[q])))) ++q;
      if (src_.compare(q, 6, "endraw") != 0) continue;
      q += 6;
      while (q < src_.size() && py_isspace(char32_t(static_cast<unsigned char>(src_[q])))) ++q;
      char end_sign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) end_sign = src_[q++];
      if (src_.compare(q, 2, "%}") != 0) continue;
      std::string_view text = src_.substr(pos_, at - pos_);
      if (open_sign == '-') text = py_strip(text, false, true);
      push_data(text, pos_);
      pos_ = q + 2;
      after_close(end_sign);
      (void)sign;
      return true;
    }
    syntax_error(src_, start, "missing end of raw directive");
  }

  void lex_tag(char closer, size_t start) {
    int depth = 0;
    const Tok end_type = closer == '}' ? Tok::var_end : Tok::block_end;
    while (true) {
      while (pos_ < src_.size() && py_isspace(char32_t(static_cast<unsigned char>(src_[pos_])))) ++pos_;
      if (pos_ >= src_.size())
        syntax_error(src_, start, closer == '}' ? "unexpected end of template, expected '}}'"
                                                : "unexpected end of template, expected '%}'");
      const char c = src_[pos_];
      if (depth == 0) {
        char sign = 0;
        size_t k = pos_;
        if (c == '-' || c == '+') {
          sign = c;
          ++k;
        }
        if (k + 1 < src_.size() && src_[k] == closer && src_[k + 1] == '}') {
          tokens_.push_back(Token{end_type, {}, 0, 0, pos_});
          pos_ = k + 2;
          if (closer == '%')
            after_close(sign);
          else if (sign == '-')
            after_close('-');
          return;
        }
      }
      const size_t at = pos_;
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t k = pos_;
        while (k < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[k])) || src_[k] == '_')) ++k;
        tokens_.push_back(Token{Tok::name, std::string(src_.substr(pos_, k - pos_)), 0, 0, at});
        pos_ = k;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        lex_number();
      } else if (c == '\'' || c == '"') {
        lex_string();
      } else {
        static constexpr std::string_view two[] = {"//", "**", "==", "!=", ">=", "<="};
        std::string op;
        for (const auto t : two)
          if (src_.compare(pos_, 2, t) == 0) op = t;
        if (op.empty()) {
          if (std::string_view("+-/*%~[](){}><=.:|,;").find(c) == std::string_view::npos)
            syntax_error(src_, pos_, "unexpected char '" + std::string(1, c) + "'");
          op = std::string(1, c);
        }
        if (op == "(" || op == "[" || op == "{") ++depth;
        if (op == ")" || op == "]" || op == "}") {
          if (depth == 0) syntax_error(src_, pos_, "unexpected '" + op + "'");
          --depth;
        }
        tokens_.push_back(Token{Tok::op, op, 0, 0, at});
        pos_ += op.size();
      }
    }
  }

  void lex_number() {
    const size_t at = pos_;
    std::string digits;
    bool is_float = false;
    const auto take_digits = [&] {
      while (pos_ < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[pos_])) ||
                                    (src_[pos_] == '_' && pos_ + 1 < src_.size() &&
                                     std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))))) {
        if (src_[pos_] != '_') digits += src_[pos_];
        ++pos_;
      }
    };
    if (src_[pos_] == '0' && pos_ + 1 < src_.size() && std::string_view("bBoOxX").find(src_[pos_ + 1]) != std::string_view::npos)
      syntax_error(src_, pos_, "binary, octal and hexadecimal literals are not supported");
    take_digits();
    if (pos_ + 1 < src_.size() && src_[pos_] == '.' && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))) {
      is_float = true;
      digits += src_[pos_++];
      take_digits();
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t k = pos_ + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < src_.size() && std::isdigit(static_cast<unsigned char>(src_[k]))) {
        is_float = true;
        digits += 'e';
        digits.append(src_.substr(pos_ + 1, k - pos_ - 1));
        pos_ = k;
        take_digits();
      }
    }
    Token t{is_float ? Tok::floating : Tok::integer, digits, 0, 0, at};
    if (is_float) {
      t.f = std::strtod(digits.c_str(), nullptr);
    } else {
      errno = 0;
      t.i = std::strtoll(digits.c_str(), nullptr, 10);
      if (errno == ERANGE) syntax_error(src_, at, "integer literal beyond 64 bits");
    }
    tokens_.push_back(std::move(t));
  }

  // Python's unicode-escape decoding of the literal's text, as jinja2 applies it.
  void lex_string() {
    const size_t at = pos_;
    const char quote = src_[pos_++];
    std::string out;
    while (true) {
      if (pos_ >= src_.size()) syntax_error(src_, at, "unexpected end of string");
      const char c = src_[pos_];
      if (c == quote) {
        ++pos_;
        break;
      }
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= src_.size()) syntax_error(src_, at, "unexpected end of string");
      const char e = src_[pos_ + 1];
      pos_ += 2;
      const auto hex_escape = [&](int n) {
        uint32_t cp = 0;
        for (int k = 0; k < n; ++k) {
          if (pos_ >= src_.size() || !std::isxdigit(static_cast<unsigned char>(src_[pos_])))
            syntax_error(src_, at, "truncated \\x, \\u or \\U escape in a string");
          const char h = src_[pos_++];
          cp = cp * 16 + uint32_t(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) syntax_error(src_, at, "escape of an invalid code point");
        utf8::append(out, char32_t(cp));
      };
      switch (e) {
        case '\n': break;  // line continuation
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case 'x': hex_escape(2); break;
        case 'u': hex_escape(4); break;
        case 'U': hex_escape(8); break;
        case 'N': syntax_error(src_, at, "\\N{...} escapes are not supported");
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = uint32_t(e - '0');
            for (int k = 0; k < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7'; ++k)
              cp = cp * 8 + uint32_t(src_[pos_++] - '0');
            utf8::append(out, char32_t(cp));
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    tokens_.push_back(Token{Tok::string, std::move(out), 0, 0, at});
  }
};

}  // namespace zest::detail::jinja
