// TEMPORARY (see placeholder_routes.h): delete with the router's arrival.
#include "api/placeholder_routes.h"

#include <nlohmann/json.hpp>

namespace agentron {

HttpHandler placeholder_routes() {
  return [](const HttpRequest& request, std::shared_ptr<HttpResponder> respond) {
    if (request.path != "/v1/ping") {
      return respond->respond(json_error(http::status::not_found, http_error::not_found,
                                         "no such endpoint: " + request.path.substr(0, 200)));
    }
    if (request.method != http::verb::get) {
      HttpResponse response =
          json_error(http::status::method_not_allowed, http_error::method_not_allowed, "/v1/ping answers GET only");
      response.headers.emplace_back("Allow", "GET");
      return respond->respond(std::move(response));
    }
    respond->respond(json_response(http::status::ok, {{"ok", true}}));
  };
}

}  // namespace agentron
