#include "common/lazy_worker.h"

#include <dirent.h>

#include <catch2/catch.hpp>
#include <mutex>
#include <thread>
#include <vector>

using namespace agentron;

namespace {

// Threads of this process, from /proc/self/task.
int thread_count() {
  int n = 0;
  DIR* dir = ::opendir("/proc/self/task");
  REQUIRE(dir != nullptr);
  while (const dirent* e = ::readdir(dir)) n += e->d_name[0] != '.';
  ::closedir(dir);
  return n;
}

}  // namespace

TEST_CASE("a lazy worker starts its thread on the first post, not before", "[lazy_worker]") {
  int before = thread_count();
  LazyWorker worker;
  CHECK_FALSE(worker.started());
  CHECK(thread_count() == before);
  std::thread::id ran_on;
  worker.post([&] { ran_on = std::this_thread::get_id(); });
  CHECK(worker.started());
  worker.join();
  CHECK(ran_on != std::thread::id());
  CHECK(ran_on != std::this_thread::get_id());
}

TEST_CASE("a lazy worker runs its work in the order posted, all of it before join returns", "[lazy_worker]") {
  std::vector<int> order;
  std::mutex m;
  {
    LazyWorker worker;
    for (int i = 0; i < 100; ++i) {
      worker.post([&, i] {
        std::lock_guard lock(m);
        order.push_back(i);
      });
    }
  }  // the destructor joins
  REQUIRE(order.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(order[i] == i);
}

TEST_CASE("a lazy worker that never worked joins at once", "[lazy_worker]") {
  LazyWorker worker;
  worker.join();
  CHECK_FALSE(worker.started());
}
