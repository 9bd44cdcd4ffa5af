// BPE's whole-token shortcut (a word spelled like a token is that token, without the merge
// loop) against the merge loop itself, on every token of the BPE vocabularies: the shortcut
// is taken only where the loop gives the same one token, and for nearly all such tokens.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "zest/tokenizer/pipeline.hpp"
#include "zest/tokenizer/vocab_files.hpp"
#include "test_data.hpp"

TEST_CASE("BPE whole tokens are what the merge loop makes of their strings") {
  for (const std::string name : {"gpt2", "roberta-bpe-8k", "spm-bpe-8k"}) {
    const std::string file = test_data("tokenizer") + "/models/" + name + "/tokenizer.json";
    const zest::detail::JsonTokenizer pipeline(nlohmann::json::parse(zest::detail::read_file(file)), {}, file);
    const auto& bpe = dynamic_cast<const zest::detail::Bpe&>(pipeline.model());
    const auto& vocab = bpe.vocab();
    int whole = 0, self = 0, wrong = 0;
    std::vector<zest::detail::Token> tokens;
    for (size_t id = 0; id < vocab.id_bound(); ++id) {
      const std::string* t = vocab.token(int32_t(id));
      if (!t || t->empty() || vocab.find(*t) != int32_t(id)) continue;
      tokens.clear();
      bpe.merge_word(*t, tokens);
      const bool makes_itself = tokens.size() == 1 && tokens[0].id == int32_t(id);
      const bool shortcut = bpe.whole_token(*t) == int32_t(id);
      self += makes_itself;
      whole += shortcut;
      if (shortcut && !makes_itself) {
        ++wrong;
        CHECK_MESSAGE(makes_itself, name << ": token " << id << " \"" << *t << "\"");
      }
    }
    MESSAGE(name << ": " << whole << " whole tokens of " << self << " that the merge loop makes of their strings");
    CHECK(wrong == 0);
    CHECK(whole >= self * 95 / 100);
  }
}
