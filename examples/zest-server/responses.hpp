// zest-server's response shaping: OpenAI's JSON objects for completions (whole, or as server-sent
// event chunks), embeddings, models and errors. No HTTP here either.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "request.hpp"
#include "zest/generate/sequence.hpp"

namespace server {

// UTF-8 that a token boundary cut, or bytes a client sent, become U+FFFD rather than an exception.
inline std::string dump(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

// One server-sent event as OpenAI streams them.
inline std::string sse(const Json& value) { return "data: " + dump(value) + "\n\n"; }
inline constexpr std::string_view sse_done = "data: [DONE]\n\n";

inline Json error_body(const ApiError& e) {
  auto or_null = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
  return {{"error", {{"message", e.what()}, {"type", e.type}, {"param", or_null(e.param)}, {"code", or_null(e.code)}}}};
}

// OpenAI's finish_reason: "stop" for an end of sequence or a stop string, "length" for the token
// limit (and for a generation cut short when the server stops).
inline std::string_view finish_reason(zest::StopReason reason) {
  switch (reason) {
    case zest::StopReason::eos:
    case zest::StopReason::stop_string:
    case zest::StopReason::callback: return "stop";
    case zest::StopReason::length:
    case zest::StopReason::cancelled: return "length";
  }
  return "stop";
}

inline Json usage(size_t prompt_tokens, size_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

inline int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One completion's objects: a chat.completion (its chunks chat.completion.chunk, text in "delta")
// or a text_completion (text in "text"), all with the same id, created and model.
class CompletionShape {
 public:
  CompletionShape(bool chat, std::string model) : chat_(chat), model_(std::move(model)) {
    static std::atomic<uint64_t> counter{0};
    id_ = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(created_) + "-" + std::to_string(++counter);
  }

  // The whole answer (stream: false).
  Json whole(std::string_view text, zest::StopReason reason, const Json& usage) const {
    Json choice = {{"index", 0}};
    if (chat_) choice["message"] = {{"role", "assistant"}, {"content", text}};
    else choice["text"] = text;
    choice["logprobs"] = nullptr;
    choice["finish_reason"] = finish_reason(reason);
    Json out = head(chat_ ? "chat.completion" : "text_completion");
    out["choices"] = Json::array({std::move(choice)});
    out["usage"] = usage;
    return out;
  }

  // Stream chunks: the first (a chat's role), one per piece of text, the last with finish_reason,
  // and with stream_options.include_usage every chunk has "usage": null and one more, without
  // choices, carries it.
  Json first_chunk(bool with_usage) const { return chunk(chat_ ? Json{{"role", "assistant"}, {"content", ""}} : Json(""), nullptr, with_usage); }
  Json text_chunk(std::string_view text, bool with_usage) const {
    return chunk(chat_ ? Json{{"content", text}} : Json(text), nullptr, with_usage);
  }
  Json last_chunk(zest::StopReason reason, bool with_usage) const {
    return chunk(chat_ ? Json::object() : Json(""), finish_reason(reason), with_usage);
  }
  Json usage_chunk(const Json& usage) const {
    Json out = head(chunk_object());
    out["choices"] = Json::array();
    out["usage"] = usage;
    return out;
  }

 private:
  Json head(std::string_view object) const { return {{"id", id_}, {"object", object}, {"created", created_}, {"model", model_}}; }
  std::string_view chunk_object() const { return chat_ ? "chat.completion.chunk" : "text_completion"; }
  Json chunk(Json content, Json finish, bool with_usage) const {
    Json choice = {{"index", 0}};
    choice[chat_ ? "delta" : "text"] = std::move(content);
    choice["logprobs"] = nullptr;
    choice["finish_reason"] = std::move(finish);
    Json out = head(chunk_object());
    out["choices"] = Json::array({std::move(choice)});
    if (with_usage) out["usage"] = nullptr;
    return out;
  }

  bool chat_;
  std::string model_, id_;
  int64_t created_ = unix_seconds();
};

// Standard base64 (RFC 4648, padded).
inline std::string base64(std::span<const unsigned char> bytes) {
  static constexpr char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t triple = uint32_t(bytes[i]) << 16;
    if (n > 1) triple |= uint32_t(bytes[i + 1]) << 8;
    if (n > 2) triple |= bytes[i + 2];
    for (size_t k = 0; k < 4; ++k) out += k <= n ? digits[(triple >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

// OpenAI's base64 embedding: the float32 values' bytes, little-endian (x86's own order).
inline std::string base64_floats(std::span<const float> values) {
  static_assert(std::endian::native == std::endian::little, "base64 embeddings are little-endian float32");
  return base64({reinterpret_cast<const unsigned char*>(values.data()), values.size() * sizeof(float)});
}

inline Json embedding_list(const std::vector<std::vector<float>>& embeddings, bool as_base64, const std::string& model,
                           size_t prompt_tokens) {
  Json data = Json::array();
  for (size_t i = 0; i < embeddings.size(); ++i)
    data.push_back({{"object", "embedding"},
                    {"index", i},
                    {"embedding", as_base64 ? Json(base64_floats(embeddings[i])) : Json(embeddings[i])}});
  return {{"object", "list"},
          {"data", std::move(data)},
          {"model", model},
          {"usage", {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}}}};
}

inline Json model_list(const ServedModel& model, int64_t created) {
  return {{"object", "list"},
          {"data", Json::array({{{"id", model.id}, {"object", "model"}, {"created", created}, {"owned_by", "zest"},
                                 {"max_model_len", model.max_length}}})}};
}

}  // namespace server
