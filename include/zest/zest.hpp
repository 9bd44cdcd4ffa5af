// zest: run Hugging Face transformer models inside a C++ program.
#pragma once

#include "zest/error.hpp"
#include "zest/generate/generator.hpp"
#include "zest/generate/params.hpp"
#include "zest/generate/perplexity.hpp"
#include "zest/io/config.hpp"
#include "zest/io/safetensors.hpp"
#include "zest/kernels/kernels.hpp"
#include "zest/models/decoder.hpp"
#include "zest/models/encoder.hpp"
#include "zest/models/options.hpp"
#include "zest/models/pooling.hpp"
#include "zest/pipeline.hpp"
#include "zest/tensor.hpp"
#include "zest/tokenizer.hpp"
#include "zest/version.hpp"
