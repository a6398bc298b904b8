#include "supervisor/instance_slots.h"

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/post.hpp>

#include "common/unique_fd.h"
#include "common/utc_time.h"
#include "config/placeholders.h"
#include "healthcheck/http_probe.h"
#include "healthcheck/record_probe.h"
#include "launcher/instance_spec.h"

namespace agentron {
namespace fs = std::filesystem;

namespace {

// True if nothing listens on (or holds) 127.0.0.1:port right now.
bool port_is_free(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as the app will
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

// [health] readiness for a new instance; nullptr when it is ready once started.
std::unique_ptr<Probe> make_probe(boost::asio::io_context& io, const Config& config, const std::string& id, int port,
                                  const fs::path& release) {
  const HealthConfig& h = config.health;
  if (h.readiness == ReadinessKind::none) return nullptr;
  if (h.readiness == ReadinessKind::record) {
    return make_record_probe(io, instance_paths(config.app, id).app_record_file(), id);
  }
  PlaceholderValues values{release.string(), std::to_string(port), config.app.data_dir.string(), id};
  auto url = parse_http_url(expand_placeholders(h.url, values));
  if (!url) {
    // Checked at load; an expansion can still make it unusable. Never ready, said why.
    spdlog::error("[health] url: {}", url.error().message);
    url = HttpUrl{"127.0.0.1", "0", "/"};
  }
  if (h.readiness == ReadinessKind::tcp) return make_tcp_probe(io, url->host, url->port, h.try_timeout);
  return make_http_probe(io, *url, h.try_timeout);
}

}  // namespace

RestartConfig never_restart() {
  RestartConfig never;
  never.policy = RestartPolicyKind::never;
  return never;
}

HistoryEvent instance_event(std::string kind, const Slot* slot, std::string instance_id, pid_t pid,
                            std::string detail) {
  HistoryEvent e;
  e.kind = std::move(kind);
  e.instance_id = std::move(instance_id);
  e.pid = pid;
  if (slot) {
    e.release = slot->release.dir.string();
    e.commit = slot->release.commit;
  }
  e.detail = std::move(detail);
  return e;
}

const char* ledger_event_for(InstanceState previous, const InstanceStatus& s) {
  switch (s.state) {
    case InstanceState::starting: return event::instance_started;
    case InstanceState::ready: return event::instance_ready;
    case InstanceState::backoff: return event::instance_exited;
    case InstanceState::failed: return event::instance_failed;
    case InstanceState::stopped: return event::instance_stopped;
    case InstanceState::stopping:
      return previous == InstanceState::starting && s.reason != "stop requested" ? event::readiness_failed : "";
  }
  return "";
}

InstanceSlots::InstanceSlots(boost::asio::io_context& io, Clock& clock, PosixSpawner& spawner, const Config& config,
                             Note note)
    : io_(io), clock_(clock), spawner_(spawner), config_(config), note_(std::move(note)) {}

void InstanceSlots::create_current(ReleaseInfo release) {
  current_ = make_slot(SlotRole::current, std::move(release), free_instance_port(), config_.restart);
}

Slot& InstanceSlots::start_candidate(ReleaseInfo release) {
  // Overlap: the old instance keeps its port while the new one starts on the other.
  int port = config_.proxy.configured ? free_instance_port()
             : config_.handover.strategy == HandoverStrategy::overlap && current_->port == config_.app.port
                 ? config_.handover.alternate_port
                 : config_.app.port;
  candidate_ = make_slot(SlotRole::candidate, std::move(release), port, never_restart());  // one chance
  candidate_->controller->start();
  return *candidate_;
}

void InstanceSlots::stop_candidate(std::function<void()> done) {
  if (!candidate_) return done();
  candidate_->controller->stop([this, done] {
    post_destroy(std::move(candidate_));
    done();
  });
}

void InstanceSlots::promote_candidate() {
  fs::path state = state_dir(config_.app);
  // Roles and their records move together: a SIGKILL from here on finds the new
  // instance as current and the old one as retiring.
  retiring_ = std::move(current_);
  retiring_->role = SlotRole::retiring;
  current_ = std::move(candidate_);
  current_->role = SlotRole::current;
  current_->controller->set_restart_config(config_.restart);
  for (Slot* slot : {current_.get(), retiring_.get()}) {
    InstanceStatus st = slot->controller->status();
    if (auto ticks = st.pid ? process_start_ticks(st.pid) : std::nullopt) {
      write_instance_record(state, {st.instance_id, st.pid, *ticks}, slot->role);
    }
  }
  remove_instance_record(state, SlotRole::candidate);
  current_->last_state = current_->controller->status().state;
}

void InstanceSlots::stop_old(std::function<void()> done) {
  Slot* old = retiring_ ? retiring_.get() : current_.get();
  old->controller->stop([this, done] {
    if (retiring_) post_destroy(std::move(retiring_));
    done();
  });
}

void InstanceSlots::add_leftover(SlotRole role, InstanceRecord record) {
  leftovers_.push_back({make_slot(role, ReleaseInfo{}, config_.app.port, never_restart()), std::move(record)});
}

void InstanceSlots::stop_leftovers() {
  for (auto& leftover : leftovers_) {
    Slot* slot = leftover.slot.get();
    if (!slot->controller->adopt(leftover.record.pid, leftover.record.instance_id)) continue;
    slot->controller->stop([this, slot] {
      auto it =
          std::find_if(leftovers_.begin(), leftovers_.end(), [slot](const auto& l) { return l.slot.get() == slot; });
      if (it == leftovers_.end()) return;
      auto owned = std::move(it->slot);
      leftovers_.erase(it);
      post_destroy(std::move(owned));
    });
  }
}

void InstanceSlots::apply_config() {
  InstanceController& c = *current_->controller;
  c.set_restart_config(config_.restart);
  c.set_stop_settings({config_.app.stop_signal, config_.app.stop_timeout});
  apply_health_config(*current_);
}

std::vector<InstanceController*> InstanceSlots::all_controllers() {
  std::vector<InstanceController*> all;
  for (auto* slot : {current_.get(), candidate_.get(), retiring_.get()}) {
    if (slot) all.push_back(slot->controller.get());
  }
  for (auto& leftover : leftovers_) all.push_back(leftover.slot->controller.get());
  return all;
}

std::vector<std::string> InstanceSlots::instance_ids_in_use() const {
  std::vector<std::string> ids;
  for (const Slot* slot : {current_.get(), candidate_.get(), retiring_.get()}) {
    if (slot) ids.push_back(slot->controller->status().instance_id);
  }
  return ids;
}

std::unique_ptr<Slot> InstanceSlots::make_slot(SlotRole role, ReleaseInfo release, int port, RestartConfig restart) {
  auto slot = std::make_unique<Slot>();
  slot->role = role;
  slot->release = std::move(release);
  slot->port = port;
  Slot* raw = slot.get();  // the Slot outlives its controller; it moves between roles, never in memory
  slot->controller = std::make_unique<InstanceController>(
      clock_, spawner_, [this, raw](const std::string& id) { return spawn_spec(*raw, id); },
      [this] { return new_instance_id(); }, restart, StopSettings{config_.app.stop_signal, config_.app.stop_timeout});
  slot->controller->on_change = [this, raw](const InstanceStatus& s) { on_slot_change(*raw, s); };
  apply_health_config(*slot);
  return slot;
}

void InstanceSlots::apply_health_config(Slot& slot) {
  int port = slot.port;
  fs::path release = slot.release.dir;
  slot.controller->set_readiness(
      [this, port, release](const std::string& id) { return make_probe(io_, config_, id, port, release); },
      ReadinessSettings{config_.health.interval, config_.health.timeout});
}

SpawnSpec InstanceSlots::spawn_spec(const Slot& slot, const std::string& id) {
  // A folder that cannot be made fails the spawn (its logs cannot be opened), said there.
  if (auto made = make_instance_dir(config_.app, id); !made) spdlog::error("instance {}: {}", id, made.error().message);
  return make_spawn_spec(config_, slot.release.dir, slot.port, id, current_environment());
}

std::string InstanceSlots::new_instance_id() {
  std::string stamp = utc_compact(WallClock::now());
  fs::path instances = state_dir(config_.app) / "instances";
  for (;;) {
    std::string id = stamp + "-" + std::to_string(++instance_seq_);
    if (!fs::exists(instances / id)) return id;
  }
}

// Without [proxy]: the [app] port. With it: the first port of the range that no
// other slot uses and nothing else holds (a client's ephemeral port can be in it).
int InstanceSlots::free_instance_port() const {
  if (!config_.proxy.configured) return config_.app.port;
  for (int port = config_.proxy.first_port; port <= config_.proxy.last_port; ++port) {
    bool used = false;
    for (const Slot* slot : {current_.get(), candidate_.get(), retiring_.get()})
      used = used || (slot && slot->port == port);
    if (!used && port_is_free(port)) return port;
  }
  spdlog::error("[proxy] instance_ports {}-{}: no free port; trying {}", config_.proxy.first_port,
                config_.proxy.last_port, config_.proxy.first_port);
  return config_.proxy.first_port;
}

void InstanceSlots::on_slot_change(Slot& slot, const InstanceStatus& s) {
  InstanceState previous = std::exchange(slot.last_state, s.state);
  record(slot, s);
  if (&slot == candidate_.get()) return events_->on_candidate_change(slot, s);
  if (&slot == current_.get()) return events_->on_current_change(slot, previous, s);
  on_old_change(slot, previous, s);
}

// Retiring, or left over by an earlier supervisor: on its way out.
void InstanceSlots::on_old_change(Slot& slot, InstanceState previous, const InstanceStatus& s) {
  if (const char* kind = ledger_event_for(previous, s); *kind && !is_alive(s.state)) {
    note_(instance_event(kind, &slot, s.instance_id, s.pid, s.reason));
  }
  spdlog::info("old instance {}: {} {}", s.instance_id, to_string(s.state), s.reason);
}

void InstanceSlots::record(const Slot& slot, const InstanceStatus& s) {
  fs::path state = state_dir(config_.app);
  if (s.state == InstanceState::starting) {
    // Recorded before it is announced: whoever saw "started" can rely on the record.
    if (auto ticks = process_start_ticks(s.pid))
      write_instance_record(state, {s.instance_id, s.pid, *ticks}, slot.role);
  } else if (!is_alive(s.state)) {
    remove_instance_record(state, slot.role);
  }
}

void InstanceSlots::post_destroy(std::unique_ptr<Slot> slot) {
  if (!slot) return;
  boost::asio::post(io_, [slot = std::shared_ptr<Slot>(std::move(slot))] {});
}

}  // namespace agentron
