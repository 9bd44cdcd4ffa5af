// zest::ChatFormat: how a model directory turns a conversation into its prompt, as transformers'
// apply_chat_template does it: the model's chat template(s) and the special tokens the templates
// see.
//
// Where the templates come from, as transformers 4.43+ and 5 load them: tokenizer_config.json's
// "chat_template" (one string, or a list of {"name", "template"}), then chat_template.jinja
// beside it (which replaces the "default" one), then additional_chat_templates/<name>.jinja.
// Which one renders: the name the caller gives; else "tool_use" when tools are given and it
// exists; else "default"; several without a default is an error, as in transformers.
// The template variables bos_token, eos_token, unk_token, sep_token, pad_token, cls_token and
// mask_token are tokenizer_config.json's (or special_tokens_map.json's) strings; unset ones stay
// undefined.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "zest/chat/chat_template.hpp"
#include "zest/error.hpp"
#include "zest/io/json.hpp"
#include "zest/io/read_file.hpp"

namespace zest {

// What apply_chat_template takes besides the messages.
struct ChatOptions {
  bool add_generation_prompt = true;  // end with the header of the assistant's turn
  // Cut the rendering right after the final message's text, so that the model continues that
  // message (an assistant's answer begun by the caller); needs add_generation_prompt = false.
  bool continue_final_message = false;
  nlohmann::ordered_json tools;       // JSON schemas; null: none
  nlohmann::ordered_json documents;   // null: none
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();  // more variables: enable_thinking, ...
  std::string template_name;          // a named template ("tool_use", ...); empty: chosen as above
};

class ChatFormat {
 public:
  // The templates and special tokens of a model directory; a directory without templates gives
  // a ChatFormat whose render() says so (unless a template is set with set_template).
  static ChatFormat from_pretrained(const std::filesystem::path& dir) {
    ChatFormat f;
    const auto config_path = dir / "tokenizer_config.json";
    const nlohmann::json config = read_object_if_exists(config_path);
    if (const auto it = config.find("chat_template"); it != config.end() && !it->is_null())
      read_config_templates(*it, config_path.string(), f.templates_);
    if (const auto file = dir / "chat_template.jinja"; exists(file))
      f.templates_["default"] = std::make_shared<const ChatTemplate>(detail::read_file(file));
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir / "additional_chat_templates", ec))
      if (entry.path().extension() == ".jinja")
        f.templates_[entry.path().stem().string()] = std::make_shared<const ChatTemplate>(detail::read_file(entry.path()));

    const nlohmann::json map = read_object_if_exists(dir / "special_tokens_map.json");
    for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"})
      if (auto token = token_string(config, key); token || (token = token_string(map, key)))
        f.special_tokens_[key] = *token;
    return f;
  }

  // Replaces the templates by this one (a --chat-template file), named "default".
  void set_template(std::string_view source) {
    templates_.clear();
    templates_["default"] = std::make_shared<const ChatTemplate>(source);
  }

  bool has_template() const { return !templates_.empty(); }

  // The prompt text for `messages` ([{"role": ..., "content": ...}, ...]).
  std::string render(const nlohmann::ordered_json& messages, const ChatOptions& options = {}) const {
    if (options.continue_final_message && options.add_generation_prompt)
      detail::fail(Error::Kind::input, "continue_final_message and add_generation_prompt are exclusive: "
                   "the first continues the final message, the second starts a new one");
    ChatTemplate::Input in;
    in.messages = messages;
    in.add_generation_prompt = options.add_generation_prompt;
    in.tools = options.tools;
    in.documents = options.documents;
    in.extra = nlohmann::ordered_json::object();
    for (const auto& [key, token] : special_tokens_) {
      if (key == "bos_token") in.bos_token = token;
      else if (key == "eos_token") in.eos_token = token;
      else in.extra[key] = token;
    }
    if (!options.extra.is_null() && !options.extra.is_object())
      detail::fail(Error::Kind::input, "chat options: extra variables must be a JSON object");
    for (auto it = options.extra.begin(); options.extra.is_object() && it != options.extra.end(); ++it) {
      if (it.key() == "bos_token" && it->is_string()) in.bos_token = it->get<std::string>();
      else if (it.key() == "eos_token" && it->is_string()) in.eos_token = it->get<std::string>();
      else in.extra[it.key()] = *it;
    }
    std::string text = choose(options).render(in);
    return options.continue_final_message ? cut_after_final_message(std::move(text), messages) : text;
  }

  // The special-token strings the templates see, by variable name ("bos_token": "<s>", ...).
  const std::map<std::string, std::string>& special_tokens() const { return special_tokens_; }

 private:
  static bool exists(const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::exists(p, ec);
  }

  static nlohmann::json read_object_if_exists(const std::filesystem::path& p) {
    return exists(p) ? detail::parse_json_object(detail::read_file(p), p.string()) : nlohmann::json::object();
  }

  // A special token written as a string or as an AddedToken {"content": ...}.
  static std::optional<std::string> token_string(const nlohmann::json& config, const char* key) {
    const auto it = config.find(key);
    if (it == config.end()) return std::nullopt;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
    return std::nullopt;
  }

  using Templates = std::map<std::string, std::shared_ptr<const ChatTemplate>>;

  static void read_config_templates(const nlohmann::json& value, const std::string& file, Templates& out) {
    if (value.is_string()) {
      out["default"] = std::make_shared<const ChatTemplate>(value.get<std::string>());
      return;
    }
    if (!value.is_array()) detail::fail(Error::Kind::format, file, ": chat_template must be a string or a list of {name, template}");
    for (const auto& entry : value) {
      if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() || !entry.contains("template") ||
          !entry["template"].is_string())
        detail::fail(Error::Kind::format, file, ": each chat_template entry must be {\"name\": string, \"template\": string}");
      out[entry["name"].get<std::string>()] = std::make_shared<const ChatTemplate>(entry["template"].get<std::string>());
    }
  }

  const ChatTemplate& choose(const ChatOptions& options) const {
    if (templates_.empty())
      detail::fail(Error::Kind::input, "this model has no chat template (tokenizer_config.json's chat_template, "
                   "chat_template.jinja): give one (zest-chat --chat-template FILE, ChatFormat::set_template)");
    if (!options.template_name.empty()) {
      const auto it = templates_.find(options.template_name);
      if (it == templates_.end()) detail::fail(Error::Kind::input, "this model has no chat template named \"", options.template_name, "\"");
      return *it->second;
    }
    if (!options.tools.is_null())
      if (const auto it = templates_.find("tool_use"); it != templates_.end()) return *it->second;
    if (const auto it = templates_.find("default"); it != templates_.end()) return *it->second;
    if (templates_.size() == 1) return *templates_.begin()->second;
    std::string names;
    for (const auto& [name, t] : templates_) names += (names.empty() ? "" : ", ") + name;
    detail::fail(Error::Kind::input, "this model has several chat templates (", names, ") and no default: name one");
  }

  // transformers' continue_final_message: the rendering up to the end of the final message's
  // text (its last text part when the content is a list), spaces at the edges as the template kept them.
  static std::string cut_after_final_message(std::string text, const nlohmann::ordered_json& messages) {
    std::string final_text;
    bool found = false;
    if (messages.is_array() && !messages.empty() && messages.back().is_object() && messages.back().contains("content")) {
      const auto& content = messages.back()["content"];
      if (content.is_string()) final_text = content.get<std::string>(), found = true;
      else if (content.is_array())
        for (auto it = content.rbegin(); it != content.rend() && !found; ++it)
          if (it->is_object() && it->contains("text") && (*it)["text"].is_string()) final_text = (*it)["text"].get<std::string>(), found = true;
    }
    if (!found) detail::fail(Error::Kind::input, "continue_final_message: the final message has no text to continue");
    constexpr std::string_view spaces = " \t\n\r\f\v\x1c\x1d\x1e\x1f";  // Python's str.strip(), ASCII part
    const size_t first = final_text.find_first_not_of(spaces);
    const std::string stripped = first == std::string::npos ? std::string() : final_text.substr(first, final_text.find_last_not_of(spaces) - first + 1);
    const std::string lstripped = first == std::string::npos ? std::string() : final_text.substr(first);
    const size_t at = text.rfind(stripped);
    if (at == std::string::npos)
      detail::fail(Error::Kind::input, "continue_final_message: the final message does not appear in the rendered chat");
    // The template kept the message's spacing: keep its trailing spaces too.
    text.resize(text.compare(at, lstripped.size(), lstripped) == 0 && lstripped == final_text ? at + lstripped.size() : at + stripped.size());
    return text;
  }

  Templates templates_;
  std::map<std::string, std::string> special_tokens_;
};

}  // namespace zest
