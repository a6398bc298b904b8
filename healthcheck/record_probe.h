// readiness = "record": ready when the app's verification record appears, parses
// and names this instance (whether it is acceptable is the verification's call).
#pragma once

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "healthcheck/probe.h"

namespace agentron {

std::unique_ptr<Probe> make_record_probe(boost::asio::io_context& io, std::filesystem::path record,
                                         std::string instance_id);

}  // namespace agentron
