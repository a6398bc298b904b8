// TEMPORARY: the control API's only routes until the router (issue 13, /v1/...) replaces
// them — enough to test the listener end to end. GET /v1/ping → 200 {"ok": true}; any
// other path → 404, /v1/ping with another method → 405.
#pragma once

#include "api/http_message.h"

namespace agentron {

HttpHandler placeholder_routes();

}  // namespace agentron
