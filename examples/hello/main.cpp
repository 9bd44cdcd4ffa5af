#include <zest/zest.hpp>

#include <iostream>

// Usage: hello MODEL_DIR   (a Hugging Face model directory)
int main(int argc, char** argv) {
  std::cout << zest::build_info() << "\n";
  if (argc < 2) return 0;
  try {
    const zest::ModelConfig config = zest::load_model_config(argv[1]);
    const zest::Weights weights = zest::Weights::open(argv[1]);
    std::cout << zest::to_string(config.model_type) << ": " << weights.names().size() << " tensors, "
              << config.num_hidden_layers << " layers, hidden size " << config.hidden_size << "\n";
  } catch (const zest::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
