// ChatFormat: a model directory's chat templates found and chosen as transformers finds and
// chooses them (tokenizer_config.json's string or named list, chat_template.jinja over "default",
// additional_chat_templates/<name>.jinja; "tool_use" when tools are given), the special-token
// variables the templates see, and continue_final_message cut as transformers cuts it.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "zest/chat/chat_format.hpp"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// A fresh directory holding `files` (name -> text).
fs::path model_dir(const std::string& name, const std::map<std::string, std::string>& files) {
  const fs::path dir = fs::temp_directory_path() / ("zest-chat-format-" + name);
  fs::remove_all(dir);
  for (const auto& [file, text] : files) {
    fs::create_directories((dir / file).parent_path());
    std::ofstream(dir / file) << text;
  }
  return dir;
}

const Json kHi = Json::array({{{"role", "user"}, {"content", "Hi"}}});

}  // namespace

TEST_CASE("named templates: default, tool_use with tools, a name, and chat_template.jinja over default") {
  const Json named = {{"chat_template", Json::array({{{"name", "default"}, {"template", "D"}}, {{"name", "tool_use"}, {"template", "T"}}})}};
  auto f = zest::ChatFormat::from_pretrained(model_dir("named", {{"tokenizer_config.json", named.dump()}}));
  zest::ChatOptions o;
  CHECK(f.render(kHi, o) == "D");
  o.tools = Json::array({{{"type", "function"}}});
  CHECK(f.render(kHi, o) == "T");
  o.tools = nullptr;
  o.template_name = "tool_use";
  CHECK(f.render(kHi, o) == "T");
  o.template_name = "rag";
  CHECK_THROWS_WITH_AS(f.render(kHi, o), doctest::Contains("no chat template named \"rag\""), zest::Error);

  f = zest::ChatFormat::from_pretrained(model_dir("files", {{"tokenizer_config.json", named.dump()},
                                                           {"chat_template.jinja", "J"},
                                                           {"additional_chat_templates/rag.jinja", "R"}}));
  CHECK(f.render(kHi) == "J");
  CHECK(f.render(kHi, o) == "R");

  const Json no_default = {{"chat_template", Json::array({{{"name", "a"}, {"template", "A"}}, {{"name", "b"}, {"template", "B"}}})}};
  f = zest::ChatFormat::from_pretrained(model_dir("no-default", {{"tokenizer_config.json", no_default.dump()}}));
  CHECK_THROWS_WITH_AS(f.render(kHi), doctest::Contains("several chat templates (a, b)"), zest::Error);

  f = zest::ChatFormat::from_pretrained(model_dir("none", {{"tokenizer_config.json", "{}"}}));
  CHECK_FALSE(f.has_template());
  CHECK_THROWS_WITH_AS(f.render(kHi), doctest::Contains("no chat template"), zest::Error);
  f.set_template("{{ messages[0].content }}!");
  CHECK(f.render(kHi) == "Hi!");

  CHECK_THROWS_WITH_AS(zest::ChatFormat::from_pretrained(model_dir("bad", {{"tokenizer_config.json", R"({"chat_template": 3})"}})),
                       doctest::Contains("chat_template must be a string or a list"), zest::Error);
}

TEST_CASE("the templates see the special tokens of tokenizer_config.json and special_tokens_map.json") {
  const Json config = {{"bos_token", {{"content", "<s>"}, {"special", true}}}, {"eos_token", "</s>"},
                       {"chat_template", "{{ bos_token }}|{{ eos_token }}|{{ unk_token }}|{{ pad_token is defined }}"}};
  auto f = zest::ChatFormat::from_pretrained(model_dir("tokens", {{"tokenizer_config.json", config.dump()},
                                                                 {"special_tokens_map.json", R"({"unk_token": "<unk>"})"}}));
  CHECK(f.render(kHi) == "<s>|</s>|<unk>|False");
  zest::ChatOptions o;
  o.extra = {{"bos_token", "<B>"}, {"pad_token", "<pad>"}};
  CHECK(f.render(kHi, o) == "<B>|</s>|<unk>|True");
}

TEST_CASE("continue_final_message cuts after the final message's text, as transformers does") {
  zest::ChatFormat f;
  const Json chat = Json::array({{{"role", "user"}, {"content", "Hi"}}, {{"role", "assistant"}, {"content", "Sure, "}}});
  zest::ChatOptions o;
  o.add_generation_prompt = false;
  o.continue_final_message = true;
  // The template keeps the spacing: the trailing space stays.
  f.set_template("{% for m in messages %}<{{ m.role }}>{{ m.content }}</{{ m.role }}>{% endfor %}");
  CHECK(f.render(chat, o) == "<user>Hi</user><assistant>Sure, ");
  // The template trims: cut after the trimmed text.
  f.set_template("{% for m in messages %}<{{ m.role }}>{{ m.content | trim }}</{{ m.role }}>{% endfor %}");
  CHECK(f.render(chat, o) == "<user>Hi</user><assistant>Sure,");
  // Content parts: the last text part.
  const Json parts = Json::array({{{"role", "assistant"}, {"content", Json::array({{{"type", "text"}, {"text", "Once"}}})}}});
  f.set_template("[{% for m in messages %}{{ m.content[0].text }}{% endfor %}]");
  CHECK(f.render(parts, o) == "[Once");
  f.set_template("[gone]");
  CHECK_THROWS_WITH_AS(f.render(chat, o), doctest::Contains("does not appear"), zest::Error);
  o.add_generation_prompt = true;
  CHECK_THROWS_WITH_AS(f.render(chat, o), doctest::Contains("exclusive"), zest::Error);
}
