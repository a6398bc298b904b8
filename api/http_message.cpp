#include "api/http_message.h"

#include <nlohmann/json.hpp>

namespace agentron {

std::string_view HttpRequest::header(http::field name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
}

std::string_view HttpRequest::header(std::string_view name) const {
  auto it = headers.find(boost::beast::string_view(name.data(), name.size()));
  return it == headers.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
}

HttpResponse json_response(http::status status, const nlohmann::json& body) {
  HttpResponse response;
  response.status = status;
  // A string that is not UTF-8 (a file name, a process's output) is replaced, not thrown
  // on: the loop does not throw.
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

HttpResponse json_error(http::status status, std::string_view code, std::string_view message) {
  return json_response(status, {{"error", {{"code", code}, {"message", message}}}});
}

}  // namespace agentron
