#include "fork/github_api.h"

#include <curl/curl.h>

#include <memory>

#include "common/shared_library.h"
#include "fork/fork_errors.h"
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

// libcurl is loaded only when a fork is to be created (common/shared_library.h): linked
// in, its ~30 dependent libraries cost every agentron-fork run ~10 ms of dynamic linking
// (bench/README.md), while only `ensure-fork --create` ever uses it.
struct Curl {
  decltype(&curl_easy_init) easy_init;
  decltype(&curl_easy_cleanup) easy_cleanup;
  decltype(&curl_easy_setopt) easy_setopt;
  decltype(&curl_easy_perform) easy_perform;
  decltype(&curl_easy_getinfo) easy_getinfo;
  decltype(&curl_easy_strerror) easy_strerror;
  decltype(&curl_slist_append) slist_append;
  decltype(&curl_slist_free_all) slist_free_all;
};

Result<Curl> load_curl() {
  auto lib = SharedLibrary::open("libcurl.so.4", "libcurl4", fork_error::http_failed);
  if (!lib) return lib.error();
  Curl c{};
  bool ok = lib->bind(c.easy_init, "curl_easy_init") && lib->bind(c.easy_cleanup, "curl_easy_cleanup") &&
            lib->bind(c.easy_setopt, "curl_easy_setopt") && lib->bind(c.easy_perform, "curl_easy_perform") &&
            lib->bind(c.easy_getinfo, "curl_easy_getinfo") && lib->bind(c.easy_strerror, "curl_easy_strerror") &&
            lib->bind(c.slist_append, "curl_slist_append") && lib->bind(c.slist_free_all, "curl_slist_free_all");
  if (!ok) return Error{fork_error::http_failed, "libcurl.so.4 lacks a function agentron-fork needs"};
  return c;
}

}  // namespace

Result<std::string> request_fork(const ForkRequest& r) {
  auto loaded = load_curl();
  if (!loaded) return loaded.error();
  const Curl& c = *loaded;
  std::unique_ptr<CURL, decltype(c.easy_cleanup)> curl(c.easy_init(), c.easy_cleanup);
  if (!curl) return Error{fork_error::http_failed, "cannot initialise libcurl"};
  std::string url = r.api_url + "/repos/" + r.upstream_owner + "/" + r.upstream_repo + "/forks";
  std::string body = r.organization.empty() ? "{}" : "{\"organization\":\"" + r.organization + "\"}";
  std::string response;
  curl_slist* headers = nullptr;
  headers = c.slist_append(headers, "Accept: application/vnd.github+json");
  headers = c.slist_append(headers, "Content-Type: application/json");
  headers = c.slist_append(headers, "User-Agent: agentron-fork");
  std::string auth = "Authorization: Bearer " + r.token;
  headers = c.slist_append(headers, auth.c_str());
  std::unique_ptr<curl_slist, decltype(c.slist_free_all)> header_list(headers, c.slist_free_all);
  c.easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  c.easy_setopt(curl.get(), CURLOPT_HTTPHEADER, header_list.get());
  c.easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
  c.easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, collect);
  c.easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response);
  c.easy_setopt(curl.get(), CURLOPT_TIMEOUT, 60L);
  c.easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "https,http");
  CURLcode rc = c.easy_perform(curl.get());
  if (rc != CURLE_OK) return Error{fork_error::http_failed, "POST " + url + " failed: " + c.easy_strerror(rc)};
  long status = 0;
  c.easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status != 202 && status != 200) {
    return Error{fork_error::fork_create_failed,
                 "POST " + url + " answered HTTP " + std::to_string(status) + ": " + response.substr(0, 300)};
  }
  return response;
}

}  // namespace agentron
