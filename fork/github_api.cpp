#include "fork/github_api.h"

#include <curl/curl.h>

#include <memory>

#include "fork/git_url.h"

namespace agentron {

std::pair<std::string, std::string> owner_and_repo(const std::string& url) {
  std::string normalized = normalize_git_url(url);  // host/owner/repo
  auto first = normalized.find('/');
  auto last = normalized.rfind('/');
  if (first == std::string::npos || last == first) return {};
  std::string owner = normalized.substr(0, last);
  owner = owner.substr(owner.rfind('/') + 1);
  return {owner, normalized.substr(last + 1)};
}

namespace {

size_t collect(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

}  // namespace

Result<std::string> request_fork(const ForkRequest& r) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Error{"http_failed", "cannot initialise libcurl"};
  std::string url = r.api_url + "/repos/" + r.upstream_owner + "/" + r.upstream_repo + "/forks";
  std::string body = r.organization.empty() ? "{}" : "{\"organization\":\"" + r.organization + "\"}";
  std::string response;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept: application/vnd.github+json");
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "User-Agent: agentron-fork");
  std::string auth = "Authorization: Bearer " + r.token;
  headers = curl_slist_append(headers, auth.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers, curl_slist_free_all);
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "https,http");
  CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) return Error{"http_failed", "POST " + url + " failed: " + curl_easy_strerror(rc)};
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status != 202 && status != 200) {
    return Error{"fork_create_failed",
                 "POST " + url + " answered HTTP " + std::to_string(status) + ": " + response.substr(0, 300)};
  }
  return response;
}

}  // namespace agentron
