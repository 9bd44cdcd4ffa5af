// zest-chat --render-only, the rendering contract of issue 19: JSON lines in, one JSON string or
// {"error": ...} per line out, in order (with --model, the model's template); and the interactive
// chat on the demo model, whose later turns prefill only their new tokens. Runs where
// ZEST_CHAT_PROGRAM names the program (the ctest test zest-chat-render-only sets it when the
// examples are built).
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_data.hpp"
#include "zest/chat/chat_template.hpp"

namespace {

struct Output {
  std::string out, err;
};

// Runs zest-chat with `args`, `input` on its standard input.
Output run_chat(const char* program, const std::string& args, const std::string& input) {
  const auto dir = std::filesystem::temp_directory_path() / ("zest-chat-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "in", std::ios::binary) << input;
  const std::string command = std::string("\"") + program + "\" " + args + " < \"" + (dir / "in").string() + "\" > \"" +
                              (dir / "out").string() + "\" 2> \"" + (dir / "err").string() + "\"";
  const int status = std::system(command.c_str());
  const auto slurp = [](const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream text;
    text << f.rdbuf();
    return text.str();
  };
  Output o{slurp(dir / "out"), slurp(dir / "err")};
  std::filesystem::remove_all(dir);
  REQUIRE_MESSAGE(status == 0, o.err);
  return o;
}

// The program under test, or null (then the test says it is skipped).
const char* chat_program() {
  const char* program = std::getenv("ZEST_CHAT_PROGRAM");
  if (!program) MESSAGE("skipped: ZEST_CHAT_PROGRAM is not set (the ctest test zest-chat-render-only sets it)");
  return program;
}

nlohmann::ordered_json focused_goldens() {
  std::ifstream file(test_data("chat/goldens.json"));
  return nlohmann::ordered_json::parse(file);
}

std::vector<nlohmann::ordered_json> json_lines(const std::string& text) {
  std::vector<nlohmann::ordered_json> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::ordered_json::parse(line));
  return lines;
}

}  // namespace

TEST_CASE("zest-chat --render-only renders each line as jinja2 does") {
  const char* program = chat_program();
  if (!program) return;
  using Json = nlohmann::ordered_json;
  const Json goldens = focused_goldens();

  // Every focused golden whose strftime_now does not matter (the program uses the clock), then
  // lines the program must refuse, one error each, without stopping.
  std::vector<Json> expected;
  std::string input;
  for (const auto& c : goldens["cases"]) {
    const std::string tmpl = c["template"].get<std::string>();
    if (tmpl.find("strftime_now") != std::string::npos) continue;
    Json request = {{"template", tmpl}, {"messages", c["messages"]}, {"add_generation_prompt", c["add_generation_prompt"]}};
    for (const char* key : {"bos_token", "eos_token", "tools", "documents", "kwargs"})
      if (c.contains(key)) request[key] = c[key];
    input += request.dump() + "\n";
    expected.push_back(c.contains("expected") ? Json(c["expected"]) : Json{{"error", c["expected_error"]}});
  }
  input += "\n";  // blank: skipped
  const std::string refused[] = {
      "not json",
      R"({"messages": []})",
      R"({"template": "{% if %}", "messages": []})",
      R"({"template": "x", "messages": "not a list"})",
      R"({"template": "{{ raise_exception('Bad role: ' ~ messages[0].role) }}", "messages": [{"role": "robot"}]})",
  };
  for (const auto& r : refused) input += r + "\n";
  const size_t n_ok = expected.size();

  const std::vector<Json> lines = json_lines(run_chat(program, "--render-only", input).out);

  REQUIRE(lines.size() == n_ok + std::size(refused));
  int equal = 0;
  for (size_t k = 0; k < n_ok; ++k) {
    CAPTURE(k);
    CHECK(lines[k] == expected[k]);
    equal += lines[k] == expected[k];
  }
  MESSAGE("zest-chat --render-only: ", equal, " of ", n_ok, " goldens equal");
  for (size_t k = n_ok; k < lines.size(); ++k) {
    CAPTURE(k);
    REQUIRE(lines[k].is_object());
    CHECK(lines[k].contains("error"));
  }
  CHECK(lines[n_ok].at("error") == "expected a JSON object");
  CHECK(lines[n_ok + 1].at("error").get<std::string>().find("\"template\"") != std::string::npos);
  CHECK(lines[n_ok + 2].at("error").get<std::string>().find("line 1, column") != std::string::npos);
  CHECK(lines[n_ok + 4].at("error") == "Bad role: robot");
}

TEST_CASE("zest-chat --render-only --model renders with the model's template and special tokens") {
  const char* program = chat_program();
  if (!program) return;
  using Json = nlohmann::ordered_json;
  const Json goldens = focused_goldens();
  // The first golden that uses both special tokens and renders without error or clock.
  const Json* chosen = nullptr;
  for (const auto& c : goldens["cases"]) {
    const std::string tmpl = c["template"].get<std::string>();
    if (c.contains("expected") && c.contains("bos_token") && c.contains("eos_token") && !c.contains("kwargs") &&
        tmpl.find("bos_token") != std::string::npos && tmpl.find("strftime_now") == std::string::npos) {
      chosen = &c;
      break;
    }
  }
  REQUIRE(chosen);
  const auto dir = std::filesystem::temp_directory_path() / ("zest-chat-model-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const Json config = {{"chat_template", (*chosen)["template"]}, {"bos_token", (*chosen)["bos_token"]},
                       {"eos_token", {{"content", (*chosen)["eos_token"]}, {"special", true}}}};
  std::ofstream(dir / "tokenizer_config.json") << config.dump();
  Json request = {{"messages", (*chosen)["messages"]}, {"add_generation_prompt", (*chosen)["add_generation_prompt"]}};
  for (const char* key : {"tools", "documents"})
    if (chosen->contains(key)) request[key] = (*chosen)[key];
  Json with_template = {{"template", "{{ bos_token }}!"}, {"messages", Json::array()}};
  const auto lines = json_lines(run_chat(program, "--render-only --model \"" + dir.string() + "\"",
                                         request.dump() + "\n" + with_template.dump() + "\n").out);
  std::filesystem::remove_all(dir);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == (*chosen)["expected"]);
  CHECK(lines[1] == "!");  // a line's own template sees its own (here unset) tokens
}

TEST_CASE("zest-chat keeps the conversation's cache: a later turn prefills only its new tokens") {
  const char* program = chat_program();
  if (!program) return;
  const Output o = run_chat(program, "--greedy --max-new-tokens 8 --threads 2",
                            "The jury said\nWhat did the mayor do?\n/reset\nThe jury said\n/quit\nnot read\n");
  // One "[prefill N new tokens (M cached) ..." line a turn.
  std::vector<std::pair<size_t, size_t>> turns;
  std::stringstream err(o.err);
  for (std::string line; std::getline(err, line);) {
    size_t fresh = 0, cached = 0;
    if (std::sscanf(line.c_str(), "[prefill %zu new tokens (%zu cached)", &fresh, &cached) == 2) turns.emplace_back(fresh, cached);
  }
  REQUIRE_MESSAGE(turns.size() == 3, o.err);
  CHECK(turns[0].second == 0);
  CHECK(turns[1].second >= turns[0].first);  // the first turn's prompt at least is reused
  CHECK(turns[2] == std::make_pair(turns[0].first, size_t(0)));  // after /reset: the first turn again
  CHECK(o.err.find("conversation reset") != std::string::npos);
  CHECK(!o.out.empty());
}
