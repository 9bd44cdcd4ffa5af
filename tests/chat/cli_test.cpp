// zest-chat --render-only, the rendering contract of issue 19: JSON lines in, one JSON string or
// {"error": ...} per line out, in order. Runs where ZEST_CHAT_PROGRAM names the program (the ctest
// test zest-chat-render-only sets it when the examples are built).
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_data.hpp"
#include "zest/chat/chat_template.hpp"

TEST_CASE("zest-chat --render-only renders each line as jinja2 does") {
  const char* program = std::getenv("ZEST_CHAT_PROGRAM");
  if (!program) {
    MESSAGE("skipped: ZEST_CHAT_PROGRAM is not set (the ctest test zest-chat-render-only sets it)");
    return;
  }
  using Json = nlohmann::ordered_json;
  std::ifstream golden_file(test_data("chat/goldens.json"));
  const Json goldens = Json::parse(golden_file);

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

  const auto dir = std::filesystem::temp_directory_path() / ("zest-chat-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "in.jsonl", std::ios::binary) << input;
  const std::string command = std::string("\"") + program + "\" --render-only < \"" + (dir / "in.jsonl").string() +
                              "\" > \"" + (dir / "out.jsonl").string() + "\"";
  REQUIRE(std::system(command.c_str()) == 0);
  std::ifstream out(dir / "out.jsonl", std::ios::binary);
  std::vector<Json> lines;
  for (std::string line; std::getline(out, line);) lines.push_back(Json::parse(line));
  std::filesystem::remove_all(dir);

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
