#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "cli/config_source.h"
#include "cli/terminal_text.h"
#include "control/control_client.h"
#include "launcher/instance_spec.h"

namespace agentron {
namespace {

std::string human_duration(double seconds) {
  long s = static_cast<long>(seconds);
  char buf[64];
  if (s >= 86400)
    std::snprintf(buf, sizeof buf, "%ldd %ldh %ldm", s / 86400, s % 86400 / 3600, s % 3600 / 60);
  else if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh %ldm %lds", s / 3600, s % 3600 / 60, s % 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%ldm %lds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  return buf;
}

std::string text(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

void print_human(const nlohmann::json& d) {
  auto row = [](const char* label, const std::string& value) {
    if (!value.empty()) std::printf("%-12s %s\n", label, value.c_str());
  };
  std::string state = text(d, "state");
  if (d.value("shutting_down", false)) state += " (supervisor shutting down)";
  row("state:", state);
  if (d["pid"].is_number()) {
    row("pid:", std::to_string(d["pid"].get<long>()) + " (instance " + text(d, "instance_id") + ")");
    row("uptime:", human_duration(d.value("uptime_seconds", 0.0)));
  }
  if (d.contains("next_restart_in_seconds"))
    row("restart in:", human_duration(d["next_restart_in_seconds"].get<double>()));
  row("restarts:", std::to_string(d.value("restart_count", 0)));
  row("last exit:", d["last_exit"].is_object() ? text(d["last_exit"], "description") : "none");
  row("reason:", printable(text(d, "reason")));
  row("readiness:", text(d, "readiness") + ", verification " + text(d, "verification"));
  const nlohmann::json& v = d.contains("last_verification") ? d["last_verification"] : nlohmann::json();
  if (v.is_object()) {
    std::string counts;
    for (const auto& [name, n] : v["counts"].items()) counts += (counts.empty() ? "" : ", ") + name + " " + n.dump();
    std::string what =
        v.value("ok", false) ? "ok: " + counts + ", integrity " + text(v, "integrity") : "FAILED: " + text(v, "detail");
    row("verified:", what + " (instance " + text(v, "instance_id") + ", " + text(v, "at") + ")");
  }
  if (d.contains("handover") && d["handover"].is_object()) {
    const nlohmann::json& h = d["handover"];
    std::string what = text(h, "id") + ": " + text(h, "state");
    if (!text(h, "branch").empty())
      what += " (" + printable(text(h, "branch")) + " @ " + text(h, "commit").substr(0, 12) + ")";
    if (!text(h, "reason").empty()) what += " — " + printable(text(h, "reason"));
    row("handover:", what);
  }
  if (d.contains("new_instance") && d["new_instance"].is_object()) {
    const nlohmann::json& n = d["new_instance"];
    row("new:", text(n, "state") + " " + text(n, "instance_id") +
                    (n["pid"].is_number() ? " (pid " + std::to_string(n["pid"].get<long>()) + ")" : ""));
  }
  if (d.contains("front") && d["front"].is_object()) {
    const nlohmann::json& f = d["front"];
    std::string conns;
    for (const auto& [port, n] : f["connections"].items())
      conns += (conns.empty() ? "" : ", ") + port + ": " + n.dump();
    row("front:", text(f, "listen") + " → " +
                      (f["active_port"].is_number() ? "port " + f["active_port"].dump() : std::string("(waiting)")) +
                      "; connections " + (conns.empty() ? "none" : conns) + "; waiting " + f["waiting"].dump());
  }
  row("data dir:", text(d, "data_dir"));
  row("release:", text(d, "release") + (text(d, "commit").empty() ? "" : " (commit " + text(d, "commit") + ")"));
  row("config:", text(d, "config"));
  row("supervisor:", "pid " + std::to_string(d.value("supervisor_pid", 0)));
}

}  // namespace

int cmd_status(const StateFlags& where, bool json) {
  auto state = state_dir_from(where.config, where.data_dir, where.state_dir);
  if (!state) return kExitConfig;
  auto socket = *state / "control.sock";
  auto response = control_request(socket, StatusRequest{});
  if (!response) {
    std::fprintf(stderr, "%s\n", response.error().message.c_str());
    return response.error().code == control_error::not_running ? kExitNotRunning : kExitFailure;
  }
  const nlohmann::json& r = *response;
  if (!r.value("ok", false)) {
    std::fprintf(stderr, "%s\n", r["error"].value("message", "request failed").c_str());
    return kExitFailure;
  }
  if (json)
    std::printf("%s\n", r["data"].dump(2).c_str());
  else
    print_human(r["data"]);
  return kExitOk;
}

int cmd_verify(const StateFlags& where, bool json) {
  auto state = state_dir_from(where.config, where.data_dir, where.state_dir);
  if (!state) return kExitConfig;
  // Up to [health] timeout on the supervisor's side; it answers when it has a result.
  auto response = control_request(*state / "control.sock", VerifyRequest{}, 600);
  if (!response) {
    std::fprintf(stderr, "%s\n", response.error().message.c_str());
    return response.error().code == control_error::not_running ? kExitNotRunning : kExitFailure;
  }
  const nlohmann::json& r = *response;
  if (!r.value("ok", false)) {
    if (json) std::printf("%s\n", r.dump(2).c_str());
    std::fprintf(stderr, "not verified: %s\n", r["error"].value("message", "request failed").c_str());
    return kExitFailure;
  }
  if (json) {
    std::printf("%s\n", r["data"].dump(2).c_str());
  } else {
    const nlohmann::json& v = r["data"];
    std::string counts;
    if (v.contains("counts"))
      for (const auto& [name, n] : v["counts"].items()) counts += (counts.empty() ? "" : ", ") + name + " " + n.dump();
    std::printf("verified: %s%s\n", counts.empty() ? text(v, "detail").c_str() : counts.c_str(),
                v.contains("integrity") ? (", integrity " + text(v, "integrity")).c_str() : "");
  }
  return kExitOk;
}

}  // namespace agentron
