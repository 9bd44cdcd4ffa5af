#!/usr/bin/env bash
# Prints the C++ example of README.md (its first ```cpp block).
cd "$(dirname "$0")/.."
awk '/^```cpp$/ && !done {inside=1; next} /^```$/ && inside {inside=0; done=1} inside' README.md
