// zest-chat: chat with a model in the terminal, as llama-cli -cnv does, or render chat templates.
//   zest-chat [--model DIR] [--system TEXT] [--chat-template FILE] [--dtype D] [--threads N]
//             [--max-new-tokens N] [--greedy] [--temperature T] [--top-k K] [--top-p P] ...
// Reads the user's lines from standard input and streams each answer to standard output; the
// conversation's KV cache is kept between turns, so a turn prefills only its new tokens (standard
// error shows how many, and the speeds). Commands: /reset (forget the conversation), /system TEXT
// (a new system message; forgets the conversation), /quit. Without --model, the embedded demo model.
//
//   zest-chat --render-only [--model DIR] < requests.jsonl  -> one JSON line per request
// Each standard-input line is one JSON object:
//   {"template": "<the Jinja text>", "messages": [...], "add_generation_prompt": true|false,
//    "bos_token": "...", "eos_token": "...", "tools": [...], "documents": [...], "kwargs": {...}}
// (tools, documents, kwargs, the tokens and add_generation_prompt are optional: tools and
// documents absent are none, tokens absent are undefined, as transformers passes them; each kwargs
// key becomes a template variable). With --model DIR a line without "template" uses the model's
// own template and special tokens (no weights are loaded). For each line, in order, it prints the
// rendering as one JSON string, or {"error": "<message>"} (a template's raise_exception message
// verbatim); nothing else goes to standard output. Blank lines are skipped.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "../common/read_file.hpp"
#include "../common/sampling_flags.hpp"
#include "zest/zest.hpp"

namespace {

using Json = nlohmann::ordered_json;

// A request line's template inputs (everything but the template).
zest::ChatTemplate::Input read_request(const Json& request) {
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
  return in;
}

// Renders one request line: with its "template", or else with `model`'s (--model) template and
// special tokens (a line's bos_token / eos_token replace the model's).
class Renderer {
 public:
  explicit Renderer(std::optional<zest::ChatFormat> model) : model_(std::move(model)) {}

  std::string render(const std::string& line) {
    const Json request = Json::parse(line, nullptr, false);
    if (request.is_discarded() || !request.is_object()) throw zest::Error(zest::Error::Kind::input, "expected a JSON object");
    zest::ChatTemplate::Input in = read_request(request);
    const auto it = request.find("template");
    if ((it == request.end() || it->is_null()) && model_) {
      zest::ChatOptions options;
      options.add_generation_prompt = in.add_generation_prompt;
      options.tools = in.tools;
      options.documents = in.documents;
      options.extra = in.extra;
      if (in.bos_token) options.extra["bos_token"] = *in.bos_token;
      if (in.eos_token) options.extra["eos_token"] = *in.eos_token;
      return model_->render(in.messages, options);
    }
    if (it == request.end() || !it->is_string())
      throw zest::Error(zest::Error::Kind::input, "\"template\" (a string) is required with --render-only without --model");
    // Scripts send one template for many conversations: parse it once.
    if (!template_ || template_text_ != it->get_ref<const std::string&>()) {
      template_.reset();
      template_text_ = it->get<std::string>();
      template_ = std::make_unique<zest::ChatTemplate>(template_text_);
    }
    return template_->render(in);
  }

 private:
  std::optional<zest::ChatFormat> model_;
  std::string template_text_;
  std::unique_ptr<zest::ChatTemplate> template_;
};

int render_only(std::optional<zest::ChatFormat> model) {
  std::ios::sync_with_stdio(false);
  Renderer renderer(std::move(model));
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json out;
    try {
      out = renderer.render(line);
    } catch (const std::exception& e) {
      out = Json{{"error", e.what()}};
    }
    std::cout << out.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n' << std::flush;
  }
  return 0;
}

// The interactive chat: one user message a line; the session keeps the conversation's cache.
int converse(const zest::Pipeline& pipeline, zest::GenerateParams params, std::string system) {
  const bool terminal = isatty(STDIN_FILENO);
  params.on_text = [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;
  };
  zest::Session session = pipeline.start_session();
  Json messages = Json::array();
  const auto restart = [&] {
    messages = Json::array();
    if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
    session.reset();
  };
  restart();
  std::string line;
  for (;;) {
    if (terminal) std::cout << "> " << std::flush;
    if (!std::getline(std::cin, line)) break;
    if (line == "/quit" || line == "/exit") break;
    if (line == "/reset") {
      restart();
      std::cerr << "[conversation reset]\n";
      continue;
    }
    if (line.rfind("/system", 0) == 0 && (line.size() == 7 || line[7] == ' ')) {
      system = line.size() > 8 ? line.substr(8) : "";
      restart();
      std::cerr << "[system message set; conversation reset]\n";
      continue;
    }
    if (line.empty()) continue;
    messages.push_back({{"role", "user"}, {"content", line}});
    try {
      const zest::Generation g = pipeline.chat(session, messages, params);
      std::cout << std::endl;
      messages.push_back({{"role", "assistant"}, {"content", g.text}});
      const auto& t = g.timings;
      std::cerr << "[prefill " << t.prompt_tokens << " new tokens (" << t.cached_tokens << " cached) at "
                << t.prefill_tok_s() << " tok/s; " << g.ids.size() << " tokens at " << t.decode_tok_s()
                << " tok/s; stop: " << zest::to_string(g.stop_reason) << "]\n";
    } catch (const zest::Error& e) {
      messages.erase(messages.end() - 1);
      std::cout << std::endl;
      std::cerr << "zest-chat: " << e.what() << " (/reset starts over)\n";
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"zest-chat: chat with a Hugging Face model directory, or render chat templates"};
  bool render = false;
  std::string model, system, chat_template, dtype = "f32";
  std::optional<int> threads;
  examples::SamplingFlags sampling;
  app.add_flag("--render-only", render, "render each standard-input JSON line's chat template (or the model's); loads no weights");
  app.add_option("--model", model, "model directory (default: the embedded demo model)");
  app.add_option("--system", system, "a system message that starts the conversation");
  app.add_option("--chat-template", chat_template, "this Jinja template file instead of the model's");
  app.add_option("--threads", threads, "threads (default: all hardware threads)");
  app.add_option("--dtype", dtype, "compute dtype of the weights")->check(CLI::IsMember({"f32", "bf16", "f16", "int8", "int4"}));
  sampling.add_to(app);
  CLI11_PARSE(app, argc, argv);
  try {
    if (render) {
      std::optional<zest::ChatFormat> format;
      if (!model.empty()) format = zest::ChatFormat::from_pretrained(model);
      else if (!chat_template.empty()) format.emplace();
      if (!chat_template.empty()) format->set_template(examples::read_file(chat_template));
      return render_only(std::move(format));
    }
    zest::LoadOptions options;
    options.dtype = zest::parse_compute_dtype(dtype);
    options.threads = threads.value_or(0);
    zest::Pipeline pipeline =
        zest::Pipeline::from_pretrained(model.empty() ? zest::default_model_dir() : std::filesystem::path(model), options);
    if (!chat_template.empty()) pipeline.set_chat_template(examples::read_file(chat_template));
    if (!pipeline.chat_format().has_template())
      throw zest::Error(zest::Error::Kind::input, "the model has no chat template: give one with --chat-template FILE");
    return converse(pipeline, sampling.apply(pipeline.default_params()), system);
  } catch (const std::exception& e) {
    std::cerr << "zest-chat: " << e.what() << "\n";
    return 1;
  }
}
