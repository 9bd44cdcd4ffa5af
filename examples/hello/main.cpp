#include <zest/zest.hpp>

#include <iostream>

// Usage: hello MODEL_DIR [PROMPT]   (a Hugging Face model directory)
int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << zest::build_info() << "\nusage: hello MODEL_DIR [PROMPT]\n";
    return 2;
  }
  try {
    const zest::Pipeline pipeline = zest::Pipeline::from_pretrained(argv[1]);
    zest::GenerateParams params = pipeline.default_params();  // from generation_config.json
    params.max_new_tokens = 40;
    params.on_text = [](std::string_view piece) { return bool(std::cout << piece << std::flush); };
    const zest::Generation g = pipeline.generate(argc > 2 ? argv[2] : "The jury said", params);
    std::cout << "\n[" << g.ids.size() << " tokens, " << g.timings.decode_tok_s() << " tok/s]\n";
  } catch (const zest::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
