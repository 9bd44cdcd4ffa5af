// zest::detail::ThreadPool: persistent workers for the kernels' fork/join parallelism.
//
// A decode step of a small model is a few hundred microseconds split into dozens of kernel
// calls, so fork/join must cost about a microsecond: workers spin on a generation counter for
// a while after each job (spin_time, yielding now and then in case the machine is
// oversubscribed), then sleep on it (std::atomic::wait, a futex on Linux).
// run(fn) calls fn(thread, n_threads) once on every thread, the caller being thread 0.
// parallel_for cuts a range into a few chunks per thread and hands them out through an atomic
// counter, so a thread that starts late or that the OS preempts (these machines are shared)
// leaves its chunks to the others instead of making them wait at the join.
// Chosen over OpenMP: no compiler flag or runtime for users, an explicit pool object that the
// caller sizes and passes to each kernel, and a fork/join at least as fast (bench/kernels
// measures both: fork_join_empty and fork_join_empty_openmp; an empty task on 2 threads took
// 0.594 us against OpenMP's 0.763 on the Intel Xeon, 0.756 against 1.056 on the Zen 4).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "zest/error.hpp"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#endif

namespace zest::detail {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
  _mm_pause();
#endif
}
// One step of a spin-wait: a pause; past the first kSpinsBeforeYield steps (some 20-50 us, longer
// than the gap between two kernels of a decode step) also a yield every 64th step, so that on an
// oversubscribed machine a spinning thread hands its core to the thread it waits for. Yielding
// from the start would cost a system call, and often a time slice, on every short wait.
inline constexpr unsigned kSpinsBeforeYield = 1024;
inline void spin_pause(unsigned step) {
  cpu_relax();
  if (step >= kSpinsBeforeYield && step % 64 == 0) std::this_thread::yield();
}
inline thread_local bool inside_pool_job = false;

class ThreadPool {
 public:
  // n_threads counts the caller: 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(size_t n_threads = 0,
                      std::chrono::microseconds spin_time = std::chrono::microseconds(500))
      : spin_time_(spin_time) {
    if (n_threads == 0) n_threads = std::max(1u, std::thread::hardware_concurrency());
    if (n_threads > 1024) detail::fail(Error::Kind::input, "ThreadPool: n_threads = ", n_threads, " is more than 1024");
    n_threads_ = n_threads;
    workers_.reserve(n_threads - 1);
    for (size_t t = 1; t < n_threads; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
  }

  ~ThreadPool() {
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (auto& w : workers_) w.join();
  }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return n_threads_; }

  // parallel_for's chunks per thread: enough to even out a preempted thread, few enough that
  // each chunk of a GEMV is a long sequential stream.
  static constexpr size_t kChunksPerThread = 8;

  // Calls fn(thread, n_threads) on every thread and returns when all have finished. The first
  // exception thrown by any call is rethrown here. A call from inside a job runs fn on the
  // calling thread alone (as thread 0 of 1), so nested kernels do not deadlock.
  template <typename F>
  void run(F&& fn) {
    using Fn = std::remove_reference_t<F>;
    if (n_threads_ == 1 || detail::inside_pool_job) {
      fn(size_t(0), size_t(1));
      return;
    }
    std::lock_guard<std::mutex> one_job_at_a_time(run_mutex_);
    job_ = [](void* ctx, size_t t, size_t n) { (*static_cast<Fn*>(ctx))(t, n); };
    job_ctx_ = const_cast<void*>(static_cast<const void*>(&fn));
    pending_.store(n_threads_ - 1, std::memory_order_relaxed);
    // seq_cst pairs with the worker's sleepers_ increment: either it sees the new generation
    // before sleeping or we see it asleep and wake it.
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) generation_.notify_all();
    execute(0);
    for (unsigned i = 1; pending_.load(std::memory_order_acquire) != 0; ++i) detail::spin_pause(i);
    if (error_) {
      std::exception_ptr e = std::exchange(error_, nullptr);
      std::rethrow_exception(e);
    }
  }

  // Splits [0, n) into contiguous chunks, each a multiple of `grain` except the last (about
  // kChunksPerThread per thread), and calls fn(begin, end) once per chunk on whichever thread
  // takes it.
  template <typename F>
  void parallel_for(size_t n, size_t grain, F&& fn) {
    grain = std::max<size_t>(grain, 1);
    const size_t blocks = (n + grain - 1) / grain;
    if (blocks <= 1 || n_threads_ == 1 || detail::inside_pool_job) {
      if (n > 0) fn(size_t(0), n);
      return;
    }
    const size_t chunks = std::min(blocks, n_threads_ * kChunksPerThread);
    std::atomic<size_t> next{0};
    run([&](size_t, size_t) {
      for (size_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;) {
        const size_t begin = std::min(n, blocks * c / chunks * grain), end = std::min(n, blocks * (c + 1) / chunks * grain);
        fn(begin, end);
      }
    });
  }

 private:
  void execute(size_t t) {
    detail::inside_pool_job = true;
    try {
      job_(job_ctx_, t, n_threads_);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
    }
    detail::inside_pool_job = false;
  }

  void worker_loop(size_t t) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t g = generation_.load(std::memory_order_acquire);
      if (g == seen) {
        const auto spin_until = std::chrono::steady_clock::now() + spin_time_;
        for (unsigned i = 1; (g = generation_.load(std::memory_order_acquire)) == seen; ++i) {
          detail::spin_pause(i);
          if (i % 256 == 0 && std::chrono::steady_clock::now() > spin_until) {
            sleepers_.fetch_add(1, std::memory_order_seq_cst);
            generation_.wait(seen, std::memory_order_seq_cst);
            sleepers_.fetch_sub(1, std::memory_order_relaxed);
          }
        }
      }
      seen = g;
      if (stop_.load(std::memory_order_relaxed)) return;
      execute(t);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  size_t n_threads_ = 1;
  std::chrono::microseconds spin_time_;
  std::vector<std::thread> workers_;
  std::mutex run_mutex_, error_mutex_;
  void (*job_)(void*, size_t, size_t) = nullptr;
  void* job_ctx_ = nullptr;
  std::exception_ptr error_;
  alignas(64) std::atomic<uint64_t> generation_{0};
  alignas(64) std::atomic<size_t> pending_{0};
  alignas(64) std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
};

// A process-wide pool with one thread per hardware thread, created on first use.
inline ThreadPool& default_thread_pool() {
  static ThreadPool pool;
  return pool;
}

}  // namespace zest::detail
