// zest: run Hugging Face transformer models inside a C++ program.
#pragma once

#include "zest/error.hpp"
#include "zest/io/config.hpp"
#include "zest/io/safetensors.hpp"
#include "zest/tensor.hpp"
#include "zest/version.hpp"
