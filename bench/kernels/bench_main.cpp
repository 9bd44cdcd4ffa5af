// bench_kernels: every kernel beside its peers (OpenBLAS, Eigen) and the machine's STREAM-triad
// bandwidth, all in one run so the ratios compare like with like. tools/bench.sh runs it.
#include "bench_common.hpp"

int main(int argc, char** argv) {
  bench::register_runtime();
  bench::register_matmul();
  bench::register_attention();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
