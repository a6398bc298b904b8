// One thread for blocking work kept off the event loop (snapshots, database probes),
// started when the first work is posted. A supervisor that never takes a snapshot or
// probes a database — the default config, idle — pays for no such thread: no stack,
// no malloc arena, one thread fewer in `ps -L`. Otherwise it is a
// boost::asio::thread_pool of one thread: work runs in the order posted.
//
// After each piece of work, what it freed goes back to the kernel (malloc_trim): the
// work is rare and allocates big — SQLite's page cache for a probe, 1 MiB copy buffers
// for a snapshot — and glibc would keep it in the thread's arena for good (a probe left
// ~300 KiB resident in an idle supervisor; bench/README.md).
//
// REQUIRES: post() is called from one thread (the loop's), as is the destructor.
#pragma once

#include <malloc.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <optional>
#include <utility>

namespace agentron {

class LazyWorker {
 public:
  LazyWorker() = default;
  LazyWorker(const LazyWorker&) = delete;
  LazyWorker& operator=(const LazyWorker&) = delete;
  ~LazyWorker() { join(); }

  template <typename Work>
  void post(Work&& work) {
    if (!pool_) pool_.emplace(1);
    boost::asio::post(*pool_, [work = std::forward<Work>(work)]() mutable {
      work();
      ::malloc_trim(0);
    });
  }

  // Waits until the work posted so far has run and the thread has ended.
  void join() {
    if (pool_) pool_->join();
  }

  bool started() const { return pool_.has_value(); }

 private:
  std::optional<boost::asio::thread_pool> pool_;
};

}  // namespace agentron
