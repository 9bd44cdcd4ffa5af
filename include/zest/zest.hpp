// zest: run Hugging Face transformer models inside a C++ program.
#pragma once

#include "zest/error.hpp"
#include "zest/version.hpp"
