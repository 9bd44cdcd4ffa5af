// StopStringMatcher: stop strings across piece boundaries, what is held back, and agreement with
// a plain search over the whole text however the text is cut.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "zest/generate/rng.hpp"
#include "zest/generate/stop_strings.hpp"

namespace {

struct Run {
  std::string emitted;
  bool stopped = false;
};

Run feed(zest::detail::StopStringMatcher& m, const std::vector<std::string>& pieces) {
  Run r;
  for (const std::string& p : pieces) {
    auto step = m.push(p);
    r.emitted += step.emit;
    if (step.stopped) {
      r.stopped = true;
      return r;
    }
  }
  r.emitted += m.flush();
  return r;
}

// The reference: the stop occurrence that ends first (the longest of those ending together),
// found by trying every end position of the whole text.
Run reference(const std::string& text, const std::vector<std::string>& stops) {
  for (size_t end = 1; end <= text.size(); ++end) {
    size_t best = std::string::npos;
    for (const std::string& s : stops)
      if (s.size() <= end && text.compare(end - s.size(), s.size(), s) == 0) best = std::min(best, end - s.size());
    if (best != std::string::npos) return {text.substr(0, best), true};
  }
  return {text, false};
}

}  // namespace

TEST_CASE("a stop string spanning pieces is found and never emitted") {
  zest::detail::StopStringMatcher m({"###", "User:"});
  auto s1 = m.push("Hello Us");
  CHECK(s1.emit == "Hello ");  // "Us" may begin "User:"
  CHECK_FALSE(s1.stopped);
  auto s2 = m.push("e");
  CHECK(s2.emit == "");
  auto s3 = m.push("r: hi");
  CHECK(s3.stopped);
  CHECK(s3.emit == "");
  CHECK(m.matched() == 1u);
  CHECK(m.push("more").stopped);  // stays stopped
}

TEST_CASE("held-back text that turns out not to be a stop string is emitted") {
  zest::detail::StopStringMatcher m({"</s>"});
  CHECK(m.push("a <").emit == "a ");
  CHECK(m.push("/").emit == "");
  CHECK(m.push("b>").emit == "</b>");
  CHECK(m.push("x </").emit == "x ");
  CHECK(m.flush() == "</");  // generation ended for another reason: show what was held
  CHECK_FALSE(m.matched());
}

TEST_CASE("text before a stop string in the same piece is emitted; the first stop to end wins") {
  zest::detail::StopStringMatcher m({"abcd", "bc"});
  auto s = m.push("xxabcd");
  CHECK(s.stopped);
  CHECK(s.emit == "xxa");  // "bc" ends before "abcd" does
  CHECK(m.matched() == 1u);
  zest::detail::StopStringMatcher n({"bc", "abc"});
  auto t = n.push("zabc");
  CHECK(t.emit == "z");  // both end together: the longer one
  CHECK(n.matched() == 1u);
}

TEST_CASE("no stop strings: everything is emitted at once") {
  zest::detail::StopStringMatcher m({});
  CHECK(m.push("abc").emit == "abc");
  CHECK(m.flush() == "");
}

TEST_CASE("multi-byte stop strings are held back whole and never split a character") {
  zest::detail::StopStringMatcher m({"\xE3\x80\x82\xE3\x80\x82"});  // two ideographic full stops
  CHECK(m.push("\xE6\x97\xA5\xE3\x80\x82").emit == "\xE6\x97\xA5");
  auto s = m.push("\xE3\x80\x82!");
  CHECK(s.stopped);
  CHECK(s.emit == "");
}

TEST_CASE("bad stop strings are rejected") {
  CHECK_THROWS_AS(zest::detail::StopStringMatcher({"ok", ""}), zest::Error);
  CHECK_THROWS_AS(zest::detail::StopStringMatcher({"\x80x"}), zest::Error);
}

TEST_CASE("any cut of the text gives the plain search's answer, and emitted text is final") {
  zest::detail::Xoshiro256 rng(99);
  const std::vector<std::vector<std::string>> stop_sets = {
      {"ab"}, {"aab", "ba"}, {"abab", "bb", "aaa"}, {"a"}, {"abcabc", "cab"}};
  for (int trial = 0; trial < 3000; ++trial) {
    const auto& stops = stop_sets[trial % stop_sets.size()];
    std::string text;
    const size_t length = rng.next() % 24;
    for (size_t i = 0; i < length; ++i) text += "abc"[rng.next() % 3];
    std::vector<std::string> pieces;
    for (size_t at = 0; at < text.size();) {
      const size_t n = 1 + rng.next() % 4;
      pieces.push_back(text.substr(at, n));
      at += n;
    }
    const Run want = reference(text, stops);
    zest::detail::StopStringMatcher m(stops);
    const Run got = feed(m, pieces);
    CAPTURE(text);
    CHECK(got.stopped == want.stopped);
    CHECK(got.emitted == want.emitted);
  }
}
