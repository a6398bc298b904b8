#include "supervisor/instance_verifier.h"

#include <boost/asio/post.hpp>

#include "common/utc_time.h"
#include "healthcheck/database_probe.h"
#include "launcher/run_as.h"

namespace agentron {
namespace asio = boost::asio;

InstanceVerifier::InstanceVerifier(asio::io_context& io, Clock& clock) : io_(io), clock_(clock) {}

InstanceVerifier::~InstanceVerifier() {
  cancel();
  worker_.join();
}

void InstanceVerifier::cancel() {
  generation_ = std::make_shared<int>(0);  // answers of earlier runs are dropped
  retry_.reset();
  done_ = nullptr;
}

void InstanceVerifier::verify(const Config& config, VerifyTarget target, std::function<void(VerificationResult)> done) {
  cancel();
  done_ = std::move(done);
  begin_ = clock_.now();
  deadline_ = begin_ + config.health.timeout;
  interval_ = config.health.interval;
  data_dir_ = config.app.data_dir;
  switch (config.health.verification) {
    case VerificationKind::none: {
      VerificationResult result;
      result.instance_id = target.instance_id;
      result.ok = true;
      result.reason = "verification is off ([health] verification = \"none\")";
      return finish(std::move(result));
    }
    case VerificationKind::probe: return probe_database_then_check(config, std::move(target));
    case VerificationKind::record: return look_for_record(std::move(target));
  }
}

void InstanceVerifier::probe_database_then_check(const Config& config, VerifyTarget target) {
  std::weak_ptr<int> generation = generation_;
  auto database = config.app.data_dir / config.health.database;
  auto counts = config.health.counts;
  auto busy = config.health.busy_timeout;
  auto data_dir = config.app.data_dir;
  auto user = config.app.user, group = config.app.group;
  worker_.post([this, generation, database, counts, busy, data_dir, target, user, group] {
    // On the worker: SQLite may wait up to busy_timeout for the app's writers. With
    // [app] user, as that user (common/fs_identity.h).
    auto reader = app_fs_identity(user, group);
    auto probe = reader ? probe_database(database, counts, busy, true, reader->has_value() ? &**reader : nullptr)
                        : Result<DatabaseProbe>(reader.error());
    Status written = ok_status();
    if (probe) {
      VerificationRecord record{target.instance_id, target.pid,        target.started_at,
                                utc_now_iso8601(),  data_dir.string(), target.commit,
                                probe->counts,      probe->integrity,  "supervisor"};
      written = write_verification_record(target.record_path, record);
    }
    asio::post(io_, [this, generation, target, data_dir, probe = std::move(probe), written]() {
      if (!generation.lock()) return;  // cancelled meanwhile
      if (!probe || !written) {
        VerificationResult result;
        result.instance_id = target.instance_id;
        result.reason = !probe ? probe.error().message : written.error().message;
        result.record_path = target.record_path.string();
        return finish(std::move(result));
      }
      check(target, data_dir);
    });
  });
}

void InstanceVerifier::look_for_record(VerifyTarget target) {
  auto record = read_verification_record(target.record_path);
  bool waiting = !record && record.error().code == kNoRecordCode;
  if (!waiting) return check(target, data_dir_);  // there: accepted or rejected with the reason
  if (clock_.now() + interval_ > deadline_) {
    VerificationResult result;
    result.instance_id = target.instance_id;
    result.record_path = target.record_path.string();
    result.reason = "no verification record from the app within " +
                    format_duration(std::chrono::duration_cast<Duration>(deadline_ - begin_)) + " at " +
                    target.record_path.string() + " ([health] verification = \"record\": the app must write it)";
    return finish(std::move(result));
  }
  retry_ = clock_.start_timer(interval_, [this, target] { look_for_record(target); });
}

void InstanceVerifier::check(const VerifyTarget& target, const std::filesystem::path& data_dir) {
  VerificationResult result;
  result.instance_id = target.instance_id;
  result.record_path = target.record_path.string();
  auto record = read_verification_record(target.record_path);
  if (!record) {
    result.reason = record.error().message;
    return finish(std::move(result));
  }
  result.record = *record;
  if (auto s = check_verification_record(*record, target.instance_id, data_dir); !s) {
    result.reason = s.error().message;
  } else {
    result.ok = true;
  }
  finish(std::move(result));
}

void InstanceVerifier::finish(VerificationResult result) {
  result.at = utc_iso8601_ms(WallClock::now());
  result.took = clock_.now() - begin_;
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(result));
}

}  // namespace agentron
