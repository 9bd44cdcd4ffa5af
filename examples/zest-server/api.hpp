// zest-server's HTTP routes over cpp-httplib: the OpenAI endpoints on a decoder's Engine or an
// encoder, /v1/models, /health and /metrics; API-key checks; OpenAI error objects for every
// failure; and the bookkeeping of requests in flight that a graceful shutdown needs.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metrics.hpp"
#include "request.hpp"
#include "responses.hpp"
#include "token_stream.hpp"
#include "zest/zest.hpp"

namespace server {

// Compares a client's key with the server's in time that depends on the client's length only.
inline bool same_key(std::string_view given, std::string_view key) {
  unsigned char differ = given.size() != key.size();
  for (size_t i = 0; i < given.size(); ++i) differ |= static_cast<unsigned char>(given[i] ^ key[i % key.size()]);
  return differ == 0;
}

class Api {
 public:
  // Either `engine` (a decoder) or `encoder` is set. An empty `api_key` lets every client in.
  Api(ServedModel model, zest::Engine* engine, const zest::Encoder* encoder, Metrics& metrics, std::string api_key)
      : model_(std::move(model)), engine_(engine), encoder_(encoder), metrics_(metrics), api_key_(std::move(api_key)) {}

  void mount(httplib::Server& http) {
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) { return admit(req, res); });
    http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      answer(res, [&] { generate(req, res, /*chat=*/true); });
    });
    http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
      answer(res, [&] { generate(req, res, /*chat=*/false); });
    });
    http.Post("/v1/embeddings", [this](const httplib::Request& req, httplib::Response& res) { answer(res, [&] { embed(req, res); }); });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(dump(model_list(model_, started_)), "application/json");
    });
    http.Get("/health", [](const httplib::Request&, httplib::Response& res) { res.set_content(R"({"status":"ok"})", "application/json"); });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_.render(engine_ ? std::optional(engine_->stats()) : std::nullopt), "text/plain; version=0.0.4");
    });
    // Statuses that httplib sets itself (404, 413, a malformed request line's 400) get an OpenAI body too.
    http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty() || res.has_header("Content-Type")) return httplib::Server::HandlerResponse::Unhandled;
      const std::string what = res.status == 404   ? "No route for " + req.method + " " + req.path
                               : res.status == 413 ? "The request body is larger than the server takes."
                                                   : "The server could not read this HTTP request.";
      res.set_content(dump(error_body(ApiError(res.status, what, "invalid_request_error"))), "application/json");
      return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      metrics_.count_request(known_path(req.path), res.status);
    });
  }

  // Answers every request from now on with 503: the server is shutting down.
  void start_draining() { draining_ = true; }
  // Waits until no generation is in flight, or `deadline`; true when none is.
  bool wait_idle(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return idle_.wait_until(lock, deadline, [&] { return in_flight_.empty(); });
  }
  // Ends every generation in flight at the engine's next step, with what it has.
  void cancel_all() {
    std::lock_guard lock(mutex_);
    for (auto& [id, request] : in_flight_) request.cancel();
  }

 private:
  // A generation from its submission to its end: registered for shutdown, cancelled if the client
  // goes away first (the handler, or the stream that owns this, ends before the request does).
  class InFlight {
   public:
    InFlight(Api& api, zest::Request request) : api_(api), request_(std::move(request)) {
      std::lock_guard lock(api_.mutex_);
      api_.in_flight_.emplace(request_.id(), request_);
    }
    ~InFlight() {
      request_.cancel();  // a no-op for a request that has ended; else it ends at the next step
      try {
        if (request_.wait().stop_reason == zest::StopReason::cancelled) api_.metrics_.count_cancelled();
      } catch (const std::exception&) {
      }
      std::lock_guard lock(api_.mutex_);
      api_.in_flight_.erase(request_.id());
      api_.idle_.notify_all();
    }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;
    const zest::Request& request() const { return request_; }

   private:
    Api& api_;
    zest::Request request_;
  };

  static std::string known_path(const std::string& path) {
    for (const char* known : {"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models", "/health", "/metrics"})
      if (path == known) return path;
    return "other";  // a bounded set of labels, whatever clients ask for
  }

  static void send_error(httplib::Response& res, const ApiError& e) {
    res.status = e.status;
    res.set_content(dump(error_body(e)), "application/json");
  }

  // Before routing: the shutdown's 503, and the API key on /v1/ (health and metrics stay open).
  httplib::Server::HandlerResponse admit(const httplib::Request& req, httplib::Response& res) const {
    if (draining_) {
      res.set_header("Connection", "close");
      send_error(res, ApiError(503, "The server is shutting down.", "server_error", {}, "shutting_down"));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (api_key_.empty() || !req.path.starts_with("/v1/")) return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    constexpr std::string_view bearer = "Bearer ";
    if (auth.starts_with(bearer) && same_key(std::string_view(auth).substr(bearer.size()), api_key_))
      return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("WWW-Authenticate", "Bearer");
    send_error(res, ApiError(401, auth.empty() ? "No API key: send the header 'Authorization: Bearer KEY'." : "Incorrect API key provided.",
                             "invalid_request_error", {}, "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  }

  // Runs a handler, turning what it throws into OpenAI's error object.
  static void answer(httplib::Response& res, const std::function<void()>& handler) {
    try {
      handler();
    } catch (const ApiError& e) {
      send_error(res, e);
    } catch (const zest::Error& e) {
      if (e.kind() == zest::Error::Kind::busy)
        send_error(res, ApiError(429, e.what(), "rate_limit_error", {}, "queue_full"));
      else if (e.kind() == zest::Error::Kind::input)
        send_error(res, ApiError(400, e.what(), "invalid_request_error"));
      else
        send_error(res, ApiError(500, e.what(), "server_error"));
    } catch (const std::exception& e) {
      send_error(res, ApiError(500, e.what(), "server_error"));
    }
  }

  void generate(const httplib::Request& req, httplib::Response& res, bool chat) {
    const auto arrived = TokenStream::Clock::now();
    GenerationRequest r = parse_generation_request(req.body, chat, model_);
    const zest::Pipeline& pipeline = engine_->pipeline();
    std::vector<int32_t> ids = std::move(r.prompt_ids);
    try {
      if (chat) ids = pipeline.tokenizer().encode(pipeline.apply_chat_template(r.messages));
      else if (ids.empty()) ids = pipeline.tokenizer().encode(r.prompt, /*add_special_tokens=*/true);
    } catch (const zest::Error& e) {  // a template that refuses the conversation, text that is not UTF-8
      throw invalid(chat ? "messages" : "prompt", e.what());
    }
    if (ids.empty()) throw invalid(chat ? "messages" : "prompt", "the prompt has no tokens");
    fit_prompt(r, ids.size(), model_);

    auto stream = std::make_shared<TokenStream>(metrics_, arrived);
    stream->attach(r.params, r.stream);
    // The template renders again in submit_chat, which adds the template's end of turn to the stops.
    auto flight = std::make_shared<InFlight>(*this, chat ? engine_->submit_chat(r.messages, r.params) : engine_->submit_ids(ids, r.params));
    const CompletionShape shape(chat, model_.id);
    if (!r.stream) {
      const zest::Generation g = flight->request().wait();
      res.set_content(dump(shape.whole(g.text, g.stop_reason, usage(ids.size(), g.ids.size()))), "application/json");
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");  // proxies pass each event on at once
    const size_t prompt_tokens = ids.size();
    const bool with_usage = r.include_usage;
    // The whole stream in one call of the provider: httplib's stop() (at shutdown) ends streams only
    // between calls, and a stream in flight should finish.
    res.set_chunked_content_provider("text/event-stream", [=](size_t, httplib::DataSink& sink) {
      auto send = [&](std::string_view event) { return sink.write(event.data(), event.size()); };
      if (!send(sse(shape.first_chunk(with_usage)))) return false;
      for (;;) {
        const bool ended = flight->request().done();  // before take(): all of the text is in by then
        const std::string text = stream->take(ended ? std::chrono::milliseconds(0) : std::chrono::milliseconds(10));
        if (!text.empty() && !send(sse(shape.text_chunk(text, with_usage)))) return false;
        if (ended) break;
        if (text.empty() && !sink.is_writable()) return false;  // the client went away: InFlight cancels
      }
      try {
        const zest::Generation g = flight->request().wait();
        if (!send(sse(shape.last_chunk(g.stop_reason, with_usage)))) return false;
        if (with_usage && !send(sse(shape.usage_chunk(usage(prompt_tokens, g.ids.size()))))) return false;
      } catch (const std::exception& e) {  // the status is sent: the error goes in the stream, as OpenAI's does
        if (!send(sse(error_body(ApiError(500, e.what(), "server_error"))))) return false;
      }
      if (!send(sse_done)) return false;
      sink.done();
      return true;
    });
  }

  void embed(const httplib::Request& req, httplib::Response& res) {
    const EmbeddingRequest r = parse_embedding_request(req.body, model_);
    size_t tokens = 0;
    for (size_t i = 0; i < r.inputs.size(); ++i) {
      const size_t n = encoder_->length(r.inputs[i]);
      if (n > model_.max_length)
        throw invalid("input", "input[" + std::to_string(i) + "] has " + std::to_string(n) + " tokens, more than the model's " +
                                   std::to_string(model_.max_length), "context_length_exceeded");
      tokens += n;
    }
    zest::EmbedOptions options;
    options.dimensions = r.dimensions;
    std::vector<std::vector<float>> values;
    for (zest::Embedding& e : encoder_->embed(r.inputs, options)) values.push_back(std::move(e.values));
    res.set_content(dump(embedding_list(values, r.base64, model_.id, tokens)), "application/json");
  }

  const ServedModel model_;
  zest::Engine* const engine_;
  const zest::Encoder* const encoder_;
  Metrics& metrics_;
  const std::string api_key_;
  const int64_t started_ = unix_seconds();
  std::atomic<bool> draining_{false};
  std::mutex mutex_;
  std::condition_variable idle_;
  std::map<uint64_t, zest::Request> in_flight_;
};

}  // namespace server
