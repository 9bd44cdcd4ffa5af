// zest: run Hugging Face transformer models inside a C++ program. The public API is what this
// header declares in namespace zest (the README lists it); zest::detail is zest's own.
#pragma once

#include "zest/chat/chat_template.hpp"
#include "zest/encoder.hpp"
#include "zest/error.hpp"
#include "zest/pipeline.hpp"
#include "zest/serve/engine.hpp"
#include "zest/tensor.hpp"
#include "zest/tokenizer.hpp"
#include "zest/version.hpp"
