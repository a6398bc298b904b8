// Readiness over HTTP and TCP (docs/design.md §9 [health] readiness = "http" | "tcp").
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "common/duration.h"
#include "common/result.h"
#include "healthcheck/probe.h"

namespace agentron {

struct HttpUrl {
  std::string host;
  std::string port;
  std::string target;  // path and query, "/" at least
};
// Plain http:// only: the probe talks to an instance on this machine.
Result<HttpUrl> parse_http_url(const std::string& url);

// GET url; passes on a 2xx answer. Each try is bounded by `try_timeout` (connect,
// send and answer together).
std::unique_ptr<Probe> make_http_probe(boost::asio::io_context& io, HttpUrl url, Duration try_timeout);

// Passes when a TCP connection to host:port is accepted (then closed at once).
std::unique_ptr<Probe> make_tcp_probe(boost::asio::io_context& io, std::string host, std::string port,
                                      Duration try_timeout);

}  // namespace agentron
