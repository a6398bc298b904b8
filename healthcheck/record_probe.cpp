#include "healthcheck/record_probe.h"

#include <boost/asio/post.hpp>

#include "healthcheck/verification_record.h"

namespace agentron {
namespace {

class RecordProbe : public Probe {
 public:
  RecordProbe(boost::asio::io_context& io, std::filesystem::path record, std::string instance_id)
      : io_(io), record_(std::move(record)), instance_id_(std::move(instance_id)) {}

  void try_once(Done done) override {
    // A few hundred bytes: read on the loop, but answered later, as the contract says.
    Status result = check();
    boost::asio::post(io_, [done = while_alive(alive_, std::move(done)), result]() mutable { done(result); });
  }

 private:
  Status check() {
    auto record = read_verification_record(record_);
    if (!record) return record.error();
    if (record->instance_id != instance_id_) {
      return Error{"wrong_instance", "the record at " + record_.string() + " names instance " + record->instance_id +
                                         ", not " + instance_id_};
    }
    return ok_status();
  }

  boost::asio::io_context& io_;
  std::filesystem::path record_;
  std::string instance_id_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace

std::unique_ptr<Probe> make_record_probe(boost::asio::io_context& io, std::filesystem::path record,
                                         std::string instance_id) {
  return std::make_unique<RecordProbe>(io, std::move(record), std::move(instance_id));
}

}  // namespace agentron
