// zest-server's request parsing: an OpenAI request body (JSON) to what the Engine or Encoder
// takes, or an ApiError naming the offending field as OpenAI's error object does. No HTTP here, so
// that tests/fuzz/fuzz_server_request.cpp runs it on any bytes.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "zest/generate/params.hpp"

namespace server {

using Json = nlohmann::ordered_json;

// OpenAI's error object: {"error": {"message", "type", "param", "code"}} with an HTTP status.
struct ApiError : std::runtime_error {
  ApiError(int status, std::string message, std::string type, std::string param = {}, std::string code = {})
      : std::runtime_error(std::move(message)), status(status), type(std::move(type)), param(std::move(param)), code(std::move(code)) {}
  int status;
  std::string type, param, code;  // param and code: empty for null
};

// A 400 about `param`.
inline ApiError invalid(std::string param, std::string message, std::string code = "invalid_value") {
  return ApiError(400, std::move(message), "invalid_request_error", std::move(param), std::move(code));
}

// What the server runs, as requests are checked against it.
struct ServedModel {
  std::string id;                 // the name requests give as "model"
  bool generates = true;          // a decoder (completions); false: an encoder (embeddings)
  size_t max_length = 0;          // decoder: prompt + new tokens; encoder: tokens of one input
  size_t vocab_size = 0;
  size_t embedding_size = 0;      // encoder: values per embedding
  zest::GenerateParams defaults;  // the model's generation_config.json
};

struct GenerationRequest {
  Json messages;                    // chat: [{"role", "content"}] with text content
  std::string prompt;               // completions: text, or
  std::vector<int32_t> prompt_ids;  // token ids
  zest::GenerateParams params;
  std::string max_tokens_field;     // "max_tokens" or "max_completion_tokens" when given
  bool stream = false, include_usage = false;
};

struct EmbeddingRequest {
  std::vector<std::string> inputs;
  bool base64 = false;
  std::optional<size_t> dimensions;
};

namespace detail {

inline std::string type_name(const Json& v) {
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

inline ApiError wrong_type(const std::string& field, std::string_view expected, const Json& got) {
  return invalid(field, "'" + field + "' must be " + std::string(expected) + ", got " + type_name(got), "invalid_type");
}

inline Json parse_object(std::string_view body) {
  Json request = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded())
    throw ApiError(400, "We could not parse the JSON body of your request: it is not valid JSON.", "invalid_request_error");
  if (!request.is_object()) throw ApiError(400, "The request body must be a JSON object.", "invalid_request_error");
  return request;
}

// The field's value, or null when absent (OpenAI treats an explicit null as absent).
inline const Json& field(const Json& request, const char* name) {
  static const Json null;
  const auto it = request.find(name);
  return it == request.end() ? null : *it;
}

inline std::optional<bool> get_bool(const Json& request, const char* name) {
  const Json& v = field(request, name);
  if (v.is_null()) return std::nullopt;
  if (!v.is_boolean()) throw wrong_type(name, "a boolean", v);
  return v.get<bool>();
}

inline std::optional<double> get_number(const Json& request, const char* name, double low, double high) {
  const Json& v = field(request, name);
  if (v.is_null()) return std::nullopt;
  if (!v.is_number()) throw wrong_type(name, "a number", v);
  const double x = v.get<double>();
  if (!(x >= low && x <= high))
    throw invalid(name, "'" + std::string(name) + "' must be in [" + Json(low).dump() + ", " + Json(high).dump() + "], got " + v.dump());
  return x;
}

inline std::optional<int64_t> get_integer(const Json& request, const char* name, int64_t low, int64_t high) {
  const Json& v = field(request, name);
  if (v.is_null()) return std::nullopt;
  if (!v.is_number_integer()) throw wrong_type(name, "an integer", v);
  // nlohmann keeps non-negative integers unsigned, and those above INT64_MAX only so.
  const bool in_range = v.is_number_unsigned()
                            ? v.get<uint64_t>() <= uint64_t(high) && (low <= 0 || v.get<uint64_t>() >= uint64_t(low))
                            : v.get<int64_t>() >= low && v.get<int64_t>() <= high;
  if (!in_range)
    throw invalid(name, "'" + std::string(name) + "' must be from " + std::to_string(low) + " to " + std::to_string(high) +
                            ", got " + v.dump());
  return v.get<int64_t>();
}

// "model" may be left out; when given it must name the served model.
inline void check_model(const Json& request, const ServedModel& model, bool generation) {
  const Json& v = field(request, "model");
  if (!v.is_null()) {
    if (!v.is_string()) throw wrong_type("model", "a string", v);
    if (v.get_ref<const std::string&>() != model.id)
      throw ApiError(400, "The model '" + v.get<std::string>() + "' does not exist: this server runs '" + model.id + "'.",
                     "invalid_request_error", "model", "model_not_found");
  }
  if (generation && !model.generates)
    throw ApiError(400, "The model '" + model.id + "' is an encoder: it serves /v1/embeddings, not text generation.",
                   "invalid_request_error", "model", "model_not_supported");
  if (!generation && model.generates)
    throw ApiError(400, "The model '" + model.id + "' is a decoder: it generates text and serves no /v1/embeddings.",
                   "invalid_request_error", "model", "model_not_supported");
}

inline std::vector<int32_t> token_ids(const Json& v, const ServedModel& model) {
  std::vector<int32_t> ids;
  for (const Json& id : v) {
    if (!id.is_number_integer()) throw wrong_type("prompt", "a string or an array of token ids", v);
    if (id.is_number_unsigned() ? id.get<uint64_t>() >= model.vocab_size : id.get<int64_t>() < 0 || uint64_t(id.get<int64_t>()) >= model.vocab_size)
      throw invalid("prompt", "token id " + id.dump() + " is outside the vocabulary of " + std::to_string(model.vocab_size));
    ids.push_back(int32_t(id.get<int64_t>()));
  }
  return ids;
}

// A message's content as text: a string, null, or an array of {"type": "text", "text"} parts.
inline std::string message_text(const Json& content, size_t index) {
  const std::string name = "messages[" + std::to_string(index) + "].content";
  if (content.is_null()) return {};
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) throw wrong_type(name, "a string or an array of text parts", content);
  std::string text;
  for (const Json& part : content) {
    if (!part.is_object() || field(part, "type") != "text" || !field(part, "text").is_string())
      throw invalid(name, "'" + name + "' parts must be {\"type\": \"text\", \"text\": \"...\"}: this model reads text only");
    text += part["text"].get_ref<const std::string&>();
  }
  return text;
}

inline Json parse_messages(const Json& request) {
  const Json& v = field(request, "messages");
  if (v.is_null()) throw invalid("messages", "'messages' is required", "missing_required_parameter");
  if (!v.is_array()) throw wrong_type("messages", "an array", v);
  if (v.empty()) throw invalid("messages", "'messages' must hold at least one message");
  Json messages = Json::array();
  for (size_t i = 0; i < v.size(); ++i) {
    const Json& m = v[i];
    const std::string name = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw wrong_type(name, "an object", m);
    const Json& role = field(m, "role");
    if (!role.is_string()) throw wrong_type(name + ".role", "a string", role);
    messages.push_back({{"role", role}, {"content", message_text(field(m, "content"), i)}});
  }
  return messages;
}

// "prompt": a string, an array of one string, an array of token ids or an array of one such array.
inline void parse_prompt(const Json& request, const ServedModel& model, GenerationRequest& out) {
  const Json* v = &field(request, "prompt");
  if (v->is_null()) throw invalid("prompt", "'prompt' is required", "missing_required_parameter");
  if (v->is_array() && !v->empty() && ((*v)[0].is_string() || (*v)[0].is_array())) {
    if (v->size() > 1) throw invalid("prompt", "one prompt per request: 'prompt' must not hold several");
    v = &(*v)[0];
  }
  if (v->is_string()) out.prompt = v->get<std::string>();
  else if (v->is_array() && !v->empty()) out.prompt_ids = token_ids(*v, model);
  else throw wrong_type("prompt", "a string or a non-empty array of token ids", *v);
}

inline std::vector<std::string> parse_stop(const Json& request) {
  const Json& v = field(request, "stop");
  if (v.is_null()) return {};
  std::vector<std::string> stop;
  if (v.is_string()) stop.push_back(v.get<std::string>());
  else if (v.is_array())
    for (const Json& s : v) {
      if (!s.is_string()) throw wrong_type("stop", "a string or an array of strings", v);
      stop.push_back(s.get<std::string>());
    }
  else throw wrong_type("stop", "a string or an array of strings", v);
  for (const std::string& s : stop)
    if (s.empty()) throw invalid("stop", "'stop' strings must not be empty");
  return stop;
}

inline std::vector<std::pair<int32_t, float>> parse_logit_bias(const Json& request, const ServedModel& model) {
  const Json& v = field(request, "logit_bias");
  if (v.is_null()) return {};
  if (!v.is_object()) throw wrong_type("logit_bias", "an object of token id: bias", v);
  std::vector<std::pair<int32_t, float>> bias;
  for (const auto& [key, value] : v.items()) {
    size_t used = 0;
    unsigned long long id = 0;
    try {
      id = std::stoull(key, &used);
    } catch (const std::exception&) {
    }
    if (used == 0 || used != key.size() || id >= model.vocab_size)
      throw invalid("logit_bias", "'logit_bias' key '" + key + "' is not a token id of the vocabulary of " + std::to_string(model.vocab_size));
    if (!value.is_number() || !(std::abs(value.get<double>()) <= 100))
      throw invalid("logit_bias", "'logit_bias' values must be numbers in [-100, 100]");
    bias.emplace_back(int32_t(id), value.get<float>());
  }
  return bias;
}

}  // namespace detail

// A /v1/chat/completions (chat) or /v1/completions body. The prompt's length is checked later,
// once it is tokenized (fit_prompt).
inline GenerationRequest parse_generation_request(std::string_view body, bool chat, const ServedModel& model) {
  using namespace detail;
  const Json request = parse_object(body);
  check_model(request, model, /*generation=*/true);
  GenerationRequest out;
  if (chat) out.messages = parse_messages(request);
  else parse_prompt(request, model, out);

  if (const auto n = get_integer(request, "n", 1, 128); n && *n != 1) throw invalid("n", "'n' must be 1: one choice per request");
  out.stream = get_bool(request, "stream").value_or(false);
  if (const Json& options = field(request, "stream_options"); !options.is_null()) {
    if (!options.is_object()) throw wrong_type("stream_options", "an object", options);
    if (!out.stream) throw invalid("stream_options", "'stream_options' is only allowed with 'stream': true");
    if (const Json& usage = field(options, "include_usage"); !usage.is_null()) {
      if (!usage.is_boolean()) throw wrong_type("stream_options.include_usage", "a boolean", usage);
      out.include_usage = usage.get<bool>();
    }
  }

  zest::GenerateParams& p = out.params;
  p = model.defaults;
  const auto limit = int64_t(std::min<size_t>(model.max_length, std::numeric_limits<int>::max()));
  for (const char* name : {"max_tokens", "max_completion_tokens"})
    if (const auto n = get_integer(request, name, 1, limit)) {
      p.max_new_tokens = int(*n);
      out.max_tokens_field = name;
    }
  // As the CLI's flags: temperature or top_p switch sampling on, temperature 0 is greedy.
  const auto temperature = get_number(request, "temperature", 0, 2);
  const auto top_p = get_number(request, "top_p", 0, 1);
  if (temperature || top_p) p.do_sample = true;
  if (temperature) p.temperature = float(*temperature);
  if (top_p) p.top_p = float(*top_p);
  if (const auto seed = get_integer(request, "seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()))
    p.seed = uint64_t(*seed);
  p.stop = parse_stop(request);
  p.presence_penalty = float(get_number(request, "presence_penalty", -2, 2).value_or(0));
  p.frequency_penalty = float(get_number(request, "frequency_penalty", -2, 2).value_or(0));
  p.logit_bias = parse_logit_bias(request, model);
  p.ignore_eos = get_bool(request, "ignore_eos").value_or(false);  // vLLM's and llama-server's extension: benchmarks use it
  return out;
}

// Checks a tokenized prompt of `prompt_tokens` against the context and sets max_new_tokens when
// the request left it out: the model's default, or what the context has room for if less.
inline void fit_prompt(GenerationRequest& request, size_t prompt_tokens, const ServedModel& model) {
  const std::string prompt_field = request.messages.is_null() ? "prompt" : "messages";
  const std::string context = "This model's maximum context length is " + std::to_string(model.max_length) + " tokens";
  if (prompt_tokens >= model.max_length)
    throw invalid(prompt_field, context + ", and the " + prompt_field + " take " + std::to_string(prompt_tokens) +
                                    ": no room for a new token.", "context_length_exceeded");
  const size_t room = model.max_length - prompt_tokens;
  int& n = request.params.max_new_tokens;
  if (request.max_tokens_field.empty()) {
    n = int(std::min<size_t>(size_t(n), room));
  } else if (size_t(n) > room) {
    throw invalid(request.max_tokens_field, context + "; you asked for " + std::to_string(prompt_tokens + size_t(n)) + " (" +
                                                std::to_string(prompt_tokens) + " in the " + prompt_field + ", " +
                                                std::to_string(n) + " in the completion).", "context_length_exceeded");
  }
}

// A /v1/embeddings body: "input" a string or an array of strings.
inline EmbeddingRequest parse_embedding_request(std::string_view body, const ServedModel& model) {
  using namespace detail;
  const Json request = parse_object(body);
  check_model(request, model, /*generation=*/false);
  EmbeddingRequest out;
  const Json& input = field(request, "input");
  if (input.is_null()) throw invalid("input", "'input' is required", "missing_required_parameter");
  if (input.is_string()) out.inputs.push_back(input.get<std::string>());
  else if (input.is_array() && !input.empty() && input.size() <= 2048)
    for (const Json& text : input) {
      if (!text.is_string()) throw wrong_type("input", "a string or an array of strings", input);
      out.inputs.push_back(text.get<std::string>());
    }
  else if (input.is_array()) throw invalid("input", "'input' must hold 1 to 2048 strings");
  else throw wrong_type("input", "a string or an array of strings", input);
  for (const std::string& text : out.inputs)
    if (text.empty()) throw invalid("input", "'input' strings must not be empty");

  if (const Json& format = field(request, "encoding_format"); !format.is_null()) {
    if (format != "float" && format != "base64") throw invalid("encoding_format", "'encoding_format' must be \"float\" or \"base64\"");
    out.base64 = format == "base64";
  }
  if (const auto d = get_integer(request, "dimensions", 1, int64_t(model.embedding_size))) out.dimensions = size_t(*d);
  return out;
}

}  // namespace server
