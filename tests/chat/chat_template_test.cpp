// zest::ChatTemplate against Python's jinja2 set up as transformers' apply_chat_template:
// the focused goldens of tools/chat-reference/make_goldens.py (tests/data/chat/goldens.json), and
// where ../shared/chat-templates is present, its 384 goldens of 28 real templates and zest's own
// conversations rendered through the same templates.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "test_data.hpp"
#include "zest/chat/chat_template.hpp"

namespace {

using Json = nlohmann::ordered_json;

std::string slurp(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), "cannot open ", path.string());
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::filesystem::path shared_templates() { return std::filesystem::path(ZEST_SHARED_DATA) / "chat-templates"; }

// 26 July 2024, 00:00:00: the time both golden makers fix strftime_now to.
std::tm golden_time() {
  std::tm t{};
  t.tm_year = 2024 - 1900;
  t.tm_mon = 6;
  t.tm_mday = 26;
  t.tm_wday = 5;
  t.tm_yday = 207;
  return t;
}

zest::ChatTemplate::Input input_of(const Json& c, const Json& messages) {
  zest::ChatTemplate::Input in;
  in.messages = messages;
  in.add_generation_prompt = c.value("add_generation_prompt", false);
  if (c.contains("tools")) in.tools = c["tools"];
  if (c.contains("documents")) in.documents = c["documents"];
  if (c.contains("bos_token") && c["bos_token"].is_string()) in.bos_token = c["bos_token"].get<std::string>();
  if (c.contains("eos_token") && c["eos_token"].is_string()) in.eos_token = c["eos_token"].get<std::string>();
  if (c.contains("kwargs")) in.extra = c["kwargs"];
  in.now = golden_time();
  return in;
}

struct Tally {
  int passed = 0, failed = 0;
};

// Renders one case and compares: the text byte for byte, or the error's message (jinja2's own,
// raise_exception's verbatim).
void check_case(const zest::ChatTemplate& tmpl, const Json& c, const Json& messages, const std::string& label,
                Tally& tally) {
  std::string got, error;
  try {
    got = tmpl.render(input_of(c, messages));
  } catch (const zest::Error& e) {
    error = e.what();
  }
  bool ok;
  if (c.contains("expected")) {
    const std::string expected = c["expected"].get<std::string>();
    ok = error.empty() && got == expected;
    if (!ok) {
      size_t k = 0;
      while (k < got.size() && k < expected.size() && got[k] == expected[k]) ++k;
      const size_t from = k > 40 ? k - 40 : 0;
      MESSAGE(label, ": ", (error.empty() ? "differs at byte " + std::to_string(k) : "error: " + error),
              "\n  expected ", Json(expected.substr(from, 120)).dump(), "\n  got      ",
              Json(got.substr(from, 120)).dump());
    }
  } else {
    const std::string expected = c["expected_error"].get<std::string>();
    ok = error == expected;
    if (!ok) MESSAGE(label, ": expected error ", Json(expected).dump(), ", got ", (error.empty() ? "no error" : Json(error).dump()));
  }
  (ok ? tally.passed : tally.failed)++;
}

}  // namespace

TEST_CASE("chat template: focused goldens of every construct, filter, test, method and global") {
  const Json goldens = Json::parse(slurp(test_data("chat/goldens.json")));
  Tally tally;
  for (const auto& c : goldens["cases"]) {
    const std::string name = c["name"].get<std::string>();
    std::unique_ptr<zest::ChatTemplate> tmpl;
    try {
      tmpl = std::make_unique<zest::ChatTemplate>(c["template"].get<std::string>());
    } catch (const zest::Error& e) {
      MESSAGE(name, ": parse error ", e.what());
      ++tally.failed;
      continue;
    }
    check_case(*tmpl, c, c["messages"], name, tally);
  }
  MESSAGE("focused goldens: ", tally.passed, " equal of ", tally.passed + tally.failed);
  CHECK(tally.passed >= 100);
  CHECK(tally.failed == 0);
}

TEST_CASE("chat template: the shared real templates (../shared/chat-templates)") {
  const auto dir = shared_templates();
  if (!std::filesystem::exists(dir / "goldens.jsonl")) {
    MESSAGE("skipped: ", dir.string(), " is absent (CI has it)");
    return;
  }
  std::map<std::string, Json> conversations;
  const Json conversations_file = Json::parse(slurp(dir / "conversations.json"));
  for (const auto& c : conversations_file["conversations"])
    conversations[c["id"].get<std::string>()] = c;
  std::map<std::string, std::unique_ptr<zest::ChatTemplate>> templates;
  const auto template_named = [&](const std::string& name) -> const zest::ChatTemplate& {
    auto& t = templates[name];
    if (!t) t = std::make_unique<zest::ChatTemplate>(slurp(dir / "templates" / (name + ".jinja")));
    return *t;
  };

  SUBCASE("its 384 goldens") {
    std::ifstream lines(dir / "goldens.jsonl");
    std::string line;
    Tally tally;
    while (std::getline(lines, line)) {
      const Json c = Json::parse(line);
      const std::string name = c["template"].get<std::string>(), conv = c["conversation"].get<std::string>();
      check_case(template_named(name), c, conversations.at(conv)["messages"],
                 name + " / " + conv + (c["add_generation_prompt"].get<bool>() ? " +prompt" : ""), tally);
    }
    MESSAGE("shared goldens: ", tally.passed, " equal of ", tally.passed + tally.failed);
    CHECK(tally.passed + tally.failed == 384);
    CHECK(tally.failed == 0);
  }

  SUBCASE("zest's own conversations through them") {
    const Json goldens = Json::parse(slurp(test_data("chat/goldens.json")));
    std::map<std::string, Json> own;
    for (const auto& c : goldens["conversations"]) own[c["id"].get<std::string>()] = c;
    Tally tally;
    for (const auto& c : goldens["shared_cases"]) {
      const std::string name = c["template_file"].get<std::string>(), conv = c["conversation"].get<std::string>();
      check_case(template_named(name), c, own.at(conv)["messages"],
                 name + " / " + conv + (c["add_generation_prompt"].get<bool>() ? " +prompt" : ""), tally);
    }
    MESSAGE("own conversations through the shared templates: ", tally.passed, " equal of ", tally.passed + tally.failed);
    CHECK(tally.passed > 0);
    CHECK(tally.failed == 0);
  }
}

TEST_CASE("chat template: parse once, render many; generation spans; strftime_now from the clock") {
  const zest::ChatTemplate tmpl(
      "{{ bos_token }}{% for m in messages %}{{ m.role }}: {% if m.role == 'assistant' %}{% generation %}{{ m.content }}"
      "{% endgeneration %}{% else %}{{ m.content }}{% endif %}{{ '\\n' }}{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}");
  zest::ChatTemplate::Input in;
  in.bos_token = "<s>";
  in.messages = Json::parse(R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}])");
  std::vector<std::pair<size_t, size_t>> spans;
  const std::string first = tmpl.render(in, &spans);
  CHECK(first == "<s>user: Hi\nassistant: Hello!\n");
  REQUIRE(spans.size() == 1);
  CHECK(first.substr(spans[0].first, spans[0].second - spans[0].first) == "Hello!");
  in.add_generation_prompt = true;
  CHECK(tmpl.render(in) == first + "assistant: ");
  in.bos_token.reset();
  CHECK(tmpl.render(in) == "user: Hi\nassistant: Hello!\nassistant: ");

  // Without a fixed time, strftime_now formats the clock's local time: the year is this year's.
  const zest::ChatTemplate clock("{{ strftime_now('%Y') }}");
  const std::time_t t = std::time(nullptr);
  std::tm local{};
  localtime_r(&t, &local);
  CHECK(clock.render({}) == std::to_string(local.tm_year + 1900));
}
