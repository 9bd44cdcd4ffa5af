// zest-chat: chat templates from the command line.
//   zest-chat --render-only  < requests.jsonl  -> one JSON line per request
// Each standard-input line is one JSON object:
//   {"template": "<the Jinja text>", "messages": [...], "add_generation_prompt": true|false,
//    "bos_token": "...", "eos_token": "...", "tools": [...], "documents": [...], "kwargs": {...}}
// (tools, documents, kwargs, the tokens and add_generation_prompt are optional: tools and
// documents absent are none, tokens absent are undefined, as transformers passes them; each kwargs
// key becomes a template variable). For each line, in order, it prints the rendering as one JSON
// string, or {"error": "<message>"} (a template's raise_exception message verbatim); nothing else
// goes to standard output. Blank lines are skipped. No model is needed.
// Not yet: --model DIR (the model's own template and special tokens) and the interactive chat.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "zest/chat/chat_template.hpp"

namespace {

using Json = nlohmann::ordered_json;

std::string render_line(const std::string& line, std::string& cached_text, std::unique_ptr<zest::ChatTemplate>& cached) {
  const Json request = Json::parse(line, nullptr, false);
  if (request.is_discarded() || !request.is_object()) throw zest::Error(zest::Error::Kind::input, "expected a JSON object");
  const auto it = request.find("template");
  if (it == request.end() || !it->is_string())
    throw zest::Error(zest::Error::Kind::input, "\"template\" (a string) is required with --render-only");
  // Scripts send one template for many conversations: parse it once.
  if (!cached || cached_text != it->get_ref<const std::string&>()) {
    cached.reset();
    cached_text = it->get<std::string>();
    cached = std::make_unique<zest::ChatTemplate>(cached_text);
  }
  zest::ChatTemplate::Input in;
  const auto messages = request.find("messages");
  if (messages == request.end() || !messages->is_array())
    throw zest::Error(zest::Error::Kind::input, "\"messages\" (an array) is required");
  in.messages = *messages;
  if (const auto a = request.find("add_generation_prompt"); a != request.end() && !a->is_null()) {
    if (!a->is_boolean()) throw zest::Error(zest::Error::Kind::input, "\"add_generation_prompt\" must be true or false");
    in.add_generation_prompt = a->get<bool>();
  }
  for (const char* key : {"bos_token", "eos_token"})
    if (const auto t = request.find(key); t != request.end() && !t->is_null()) {
      if (!t->is_string()) throw zest::Error(zest::Error::Kind::input, std::string("\"") + key + "\" must be a string");
      (key[0] == 'b' ? in.bos_token : in.eos_token) = t->get<std::string>();
    }
  if (const auto t = request.find("tools"); t != request.end()) in.tools = *t;
  if (const auto d = request.find("documents"); d != request.end()) in.documents = *d;
  if (const auto k = request.find("kwargs"); k != request.end() && !k->is_null()) {
    if (!k->is_object()) throw zest::Error(zest::Error::Kind::input, "\"kwargs\" must be an object");
    in.extra = *k;
  }
  return cached->render(in);
}

int render_only() {
  std::ios::sync_with_stdio(false);
  std::string line, cached_text;
  std::unique_ptr<zest::ChatTemplate> cached;
  while (std::getline(std::cin, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json out;
    try {
      out = render_line(line, cached_text, cached);
    } catch (const std::exception& e) {
      out = Json{{"error", e.what()}};
    }
    std::cout << out.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n' << std::flush;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"zest-chat: chat templates (and, later, chats) with zest"};
  bool render = false;
  std::string model;
  app.add_flag("--render-only", render, "render the chat template of each standard-input JSON line; no model");
  app.add_option("--model", model, "model directory (not yet supported)");
  CLI11_PARSE(app, argc, argv);
  if (!model.empty()) {
    std::cerr << "zest-chat: --model is not supported yet; use --render-only with a \"template\" in each line\n";
    return 2;
  }
  if (!render) {
    std::cerr << "zest-chat: only --render-only is implemented so far\n";
    return 2;
  }
  return render_only();
}
