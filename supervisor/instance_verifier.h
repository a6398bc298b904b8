// Verification of a ready instance (docs/design.md §4, §5). `probe`: the supervisor counts
// the rows itself — read-only, on a worker thread, never on the loop — and writes
// the record with "writer":"supervisor". `record`: the app writes it; it is looked
// for every [health] interval until [health] timeout. Either way the record is then
// read back and accepted only if it names this instance and the pinned data dir and
// its integrity is ok.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/lazy_worker.h"
#include "config/config.h"
#include "healthcheck/verification_record.h"

namespace agentron {

struct VerificationResult {
  std::string instance_id;
  bool ok = false;
  std::string reason;         // why not, when !ok
  VerificationRecord record;  // what was read (counts, integrity), when it parsed
  std::string record_path;
  std::string at;  // UTC, when the result was reached
  Duration took{0};
};

struct VerifyTarget {
  std::string instance_id;
  pid_t pid = 0;
  std::string started_at;
  std::string commit;
  std::filesystem::path record_path;
};

class InstanceVerifier {
 public:
  InstanceVerifier(boost::asio::io_context& io, Clock& clock);
  ~InstanceVerifier();

  // Verifies `target` under `config`; `done` runs once, on the loop, unless cancel()
  // or a newer verify() comes first. Verification off ([health] verification =
  // "none") is done at once with ok and an empty record.
  void verify(const Config& config, VerifyTarget target, std::function<void(VerificationResult)> done);
  void cancel();

 private:
  void probe_database_then_check(const Config& config, VerifyTarget target);
  void look_for_record(VerifyTarget target);
  void check(const VerifyTarget& target, const std::filesystem::path& data_dir);
  void finish(VerificationResult result);

  boost::asio::io_context& io_;
  Clock& clock_;
  LazyWorker worker_;  // probe mode only
  std::function<void(VerificationResult)> done_;
  std::shared_ptr<int> generation_ = std::make_shared<int>(0);
  TimePoint begin_{};
  TimePoint deadline_{};
  Duration interval_{};
  std::filesystem::path data_dir_;
  Timer retry_;
};

}  // namespace agentron
