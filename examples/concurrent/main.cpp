// Many requests at once: each client thread submits its prompt to one Engine, which runs them all
// in shared batched decode steps. Usage: concurrent [MODEL_DIR]
#include <zest/zest.hpp>

#include <iostream>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  const auto pipeline = zest::Pipeline::from_pretrained(argc > 1 ? argv[1] : zest::default_model_dir());
  zest::Engine engine(pipeline);  // a scheduler thread and one pool of KV blocks for all requests
  const std::vector<std::string> prompts = {"The jury said", "In the morning", "She was", "The city council"};
  std::vector<std::string> answers(prompts.size());
  std::vector<std::thread> clients;  // any thread may submit: an HTTP server's handlers, say
  for (size_t i = 0; i < prompts.size(); ++i)
    clients.emplace_back([&, i] {
      zest::GenerateParams params = pipeline.default_params();
      params.max_new_tokens = 32;
      zest::Request request = engine.submit(prompts[i], params);  // text streams to params.on_text
      answers[i] = request.wait().text;                            // or request.cancel()
    });
  for (auto& client : clients) client.join();
  for (size_t i = 0; i < prompts.size(); ++i) std::cout << prompts[i] << answers[i] << "\n";
  const zest::EngineStats stats = engine.stats();
  std::cout << "[" << stats.generated_tokens << " tokens in " << stats.steps << " steps]\n";
}
