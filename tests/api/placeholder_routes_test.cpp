// The temporary routes (api/placeholder_routes.h), through a RecordingResponder.
#include "api/placeholder_routes.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/api/recording_responder.h"

using namespace agentron;
using agentron::testing::RecordingResponder;

namespace {

HttpResponse call(http::verb method, const std::string& path) {
  HttpRequest request;
  request.method = method;
  request.path = path;
  auto responder = std::make_shared<RecordingResponder>();
  placeholder_routes()(request, responder);
  REQUIRE(responder->response);
  return *responder->response;
}

}  // namespace

TEST_CASE("placeholder routes: GET /v1/ping is ok, other paths 404, other methods 405", "[api]") {
  HttpResponse ping = call(http::verb::get, "/v1/ping");
  CHECK(ping.status == http::status::ok);
  CHECK(nlohmann::json::parse(ping.body) == nlohmann::json{{"ok", true}});
  HttpResponse missing = call(http::verb::get, "/v1/nothing");
  CHECK(missing.status == http::status::not_found);
  CHECK(nlohmann::json::parse(missing.body)["error"]["code"] == "not_found");
  HttpResponse post = call(http::verb::post, "/v1/ping");
  CHECK(post.status == http::status::method_not_allowed);
  CHECK(post.headers == HttpHeaders{{"Allow", "GET"}});
}
