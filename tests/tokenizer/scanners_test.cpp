// The hand-written GPT-2 scanner splits exactly as the regex (PCRE2 with Oniguruma's \s) on the
// committed texts and on made-up strings of mixed classes, ASCII alone among them.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "zest/tokenizer/pre_tokenizers.hpp"
#include "zest/tokenizer/regex.hpp"
#include "zest/tokenizer/scanners.hpp"

namespace {

using Pieces = std::vector<std::pair<size_t, size_t>>;

Pieces by_scanner(std::string_view s) {
  Pieces p;
  zest::detail::scan_gpt2(s, [&](size_t b, size_t e) { p.emplace_back(b, e); });
  return p;
}

Pieces by_cl100k(std::string_view s, size_t digits) {
  Pieces p;
  zest::detail::scan_cl100k(s, digits, [&](size_t b, size_t e) { p.emplace_back(b, e); });
  return p;
}

Pieces by_regex(const zest::detail::Regex& re, std::string_view s) {
  Pieces p;
  re.for_each_match(s, [&](size_t b, size_t e) { p.emplace_back(b, e); });
  return p;
}

}  // namespace

TEST_CASE("GPT-2, cl100k and Qwen2 scanners equal their regexes") {
  const zest::detail::Regex re{zest::detail::Split::gpt2_pattern};
  const zest::detail::Regex cl100k{zest::detail::Split::cl100k_pattern};
  const zest::detail::Regex qwen2{zest::detail::Split::qwen2_pattern};
  std::ifstream in(ZEST_TEST_DATA "/tokenizer/golden/texts.jsonl");
  REQUIRE(in);
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    const std::string text = nlohmann::json::parse(line)["text"];
    CHECK_MESSAGE(by_scanner(text) == by_regex(re, text), text);
    CHECK_MESSAGE(by_cl100k(text, 3) == by_regex(cl100k, text), text);
    CHECK_MESSAGE(by_cl100k(text, 1) == by_regex(qwen2, text), text);
  }
  CHECK(lines > 400);

  // Random strings over the characters where the classes meet.
  const std::vector<std::string> alphabet = {" ", "  ", "\t", "\n", "\r\n", "'", "s", "re", "ll", "a", "Z", "7", "²",
                                             "é", "北", "!", "?", "\xC2\xA0", "\xE3\x80\x80", "\xE2\x80\x8B", "\xE1\xA0\x8E",
                                             "\xF0\x9F\x98\x80", "\xCC\x81", "'S", "'ve", "\x0B", "\xC2\x85",
                                             "\r", "\n", "12345", "'\xC5\xBF", "'LL", "(", " (", "\n\n", " \r\n "};
  std::mt19937 rng(7);
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    const int n = int(rng() % 12);
    for (int k = 0; k < n; ++k) s += alphabet[rng() % alphabet.size()];
    CHECK_MESSAGE(by_scanner(s) == by_regex(re, s), nlohmann::json(s).dump());
    CHECK_MESSAGE(by_cl100k(s, 3) == by_regex(cl100k, s), nlohmann::json(s).dump());
    CHECK_MESSAGE(by_cl100k(s, 1) == by_regex(qwen2, s), nlohmann::json(s).dump());
  }

  // ASCII strings of up to 300 bytes: the GPT-2 scanner's 64-byte blocks and their seams.
  const std::string ascii = "  \t\n\r\v\f''''ssstrevlldmaZ09!.(-";
  for (int i = 0; i < 3000; ++i) {
    std::string s(rng() % 300, ' ');
    for (auto& c : s) c = ascii[rng() % ascii.size()];
    CHECK_MESSAGE(by_scanner(s) == by_regex(re, s), nlohmann::json(s).dump());
  }
}
