// One plain-HTTP request from the CLI (agentron-tools talks to Agentron's /api/tools):
// synchronous, bounded, JSON in and out. Not for the supervisor's loop.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "healthcheck/http_probe.h"

namespace agentron {

struct HttpAnswer {
  int status = 0;
  std::string body;
};

// `method` to base + `path` (base: an http:// URL; its own path is a prefix), with a
// JSON body when `body` is not null. Fails only if no answer came within `timeout_s`.
Result<HttpAnswer> http_json(const HttpUrl& base, const std::string& method, const std::string& path,
                             const nlohmann::json& body, int timeout_s = 30);

}  // namespace agentron
