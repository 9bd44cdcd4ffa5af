// "Sequence" in each stage of tokenizer.json (normalizer, pre-tokenizer, post-processor,
// decoder): the stage's steps as one step, each run in order through the stage's one virtual,
// apply.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "zest/io/json.hpp"

namespace zest::detail {

template <class Step, class Apply = decltype(&Step::apply)>
class Sequence;

template <class Step, class... Args>
class Sequence<Step, void (Step::*)(Args...) const> final : public Step {
 public:
  using Steps = std::vector<std::unique_ptr<Step>>;

  explicit Sequence(Steps steps) : steps_(std::move(steps)) {}
  void apply(Args... args) const override {
    for (const auto& s : steps_) s->apply(args...);
  }
  const Steps& steps() const { return steps_; }

 private:
  Steps steps_;
};

// {"type": "Sequence", "<list>": [...]}: each element made by `make`, a null one left out.
template <class Step, class Make>
std::unique_ptr<Step> make_sequence(const JsonRef& j, std::string_view list, Make make) {
  typename Sequence<Step>::Steps steps;
  const JsonRef items = j[list];
  for (size_t i = 0; i < items.size(); ++i)
    if (auto s = make(items[i])) steps.push_back(std::move(s));
  return std::make_unique<Sequence<Step>>(std::move(steps));
}

}  // namespace zest::detail
