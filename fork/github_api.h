// The one GitHub REST call agentron-fork makes: asking GitHub to create the agent's
// fork of the upstream (POST /repos/{owner}/{repo}/forks). libcurl; the API base URL
// is configurable, so the tests point it at a loopback stand-in.
#pragma once

#include <string>

#include "common/result.h"

namespace agentron {

struct ForkRequest {
  std::string api_url;         // e.g. https://api.github.com
  std::string upstream_owner;  // from the upstream URL
  std::string upstream_repo;
  std::string organization;  // empty: the token's own account
  std::string token;
};

// {owner, repo} of a GitHub-style URL (host/owner/repo); empty if it has no two parts.
std::pair<std::string, std::string> owner_and_repo(const std::string& url);

// Sends the request; GitHub answers 202 and creates the fork asynchronously.
// Returns the response body (JSON with the new fork's clone_url).
Result<std::string> request_fork(const ForkRequest& request);

}  // namespace agentron
