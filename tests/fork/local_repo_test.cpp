#include "fork/local_repo.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "fork/git_url.h"
#include "fork/push_guard.h"
#include "tests/temp_dir.h"

using namespace agentron;
namespace fs = std::filesystem;

namespace {

// The smallest directory git takes for a repository: HEAD, objects, refs.
fs::path make_repo(const fs::path& dir) {
  fs::create_directories(dir / "objects");
  fs::create_directories(dir / "refs" / "heads");
  std::ofstream(dir / "HEAD") << "ref: refs/heads/main\n";
  return dir;
}

void write(const fs::path& file, const std::string& text) { std::ofstream(file) << text; }

// The repository a local URL or path leads to.
RepoId id_of(const std::string& url, const fs::path& base = "/") {
  auto repo = resolve_local_repo(local_path_of_url(url).value_or(""), base);
  INFO(url << ": " << (repo ? "" : repo.error().message));
  REQUIRE(repo);
  return repo->id();
}

}  // namespace

TEST_CASE("file:// URLs and paths mean what they mean to git 2.39", "[local_repo]") {
  // What `git fetch-pack --diag-url` prints as the path.
  struct Case {
    const char* url;
    std::optional<std::string> path;
  };
  for (const auto& c : std::vector<Case>{
           {"file:///srv/up.git", "/srv/up.git"},
           {"file://HOST/srv/up.git", "/srv/up.git"},  // the host is ignored, the path is absolute
           {"file://localhost/srv/up.git", "/srv/up.git"},
           {"file://.git/srv/up.git", "/srv/up.git"},  // not ".git/srv/up.git" relative to the workspace
           {"file://tmp/x", "/x"},
           {"file:////srv/up.git", "//srv/up.git"},
           {"file:///srv/a%20b", "/srv/a b"},
           {"file://%2Fsrv/up", "/srv/up"},  // decoded before the host is split off
           {"file://[::1]/srv/up", "/srv/up"},
           {"file://user@host:22/srv/up", "/srv/up"},
           {"file://host", ""},  // no path: git refuses it
           {"./rel/up.git", "./rel/up.git"},
           {"rel/up.git", "rel/up.git"},
           {"/srv/a:b", "/srv/a:b"},
           {"./a%20b", "./a%20b"},  // a plain path is not decoded
           {"https://github.com/a/b", std::nullopt},
           {"git://host/x", std::nullopt},
           {"ssh://host/x", std::nullopt},
           {"host:path/x", std::nullopt},  // the scp form of ssh
           {"file:/srv/x", std::nullopt},  // ssh to a host called "file", to git
           {"FILE:///srv/x", std::nullopt},
       }) {
    INFO(c.url);
    CHECK(local_path_of_url(c.url) == c.path);
  }
}

TEST_CASE("a local remote is identified by what is there, however it is reached", "[local_repo]") {
  testing::TempDir tmp;
  fs::path up = make_repo(tmp.path / "up.git");
  RepoId upstream = id_of(up.string());
  std::string relative_base = (tmp.path / "ws").string();
  fs::create_directories(relative_base);

  CHECK(id_of("file://" + up.string()).common_dir == upstream.common_dir);
  CHECK(id_of("/" + up.string() + "/").common_dir == upstream.common_dir);
  CHECK(id_of("../up.git", relative_base).common_dir == upstream.common_dir);
  CHECK(id_of((tmp.path / "up").string()).common_dir == upstream.common_dir);  // git tries PATH.git

  SECTION("through a symlink") {
    fs::create_directory_symlink(up, tmp.path / "innocent.git");
    CHECK(id_of((tmp.path / "innocent.git").string()).shares_storage_with(upstream));
  }
  SECTION("through a folder with a gitdir: file") {
    fs::create_directories(tmp.path / "fork");
    write(tmp.path / "fork" / ".git", "gitdir: ../up.git\n");
    CHECK(id_of((tmp.path / "fork").string()).shares_storage_with(upstream));
  }
  SECTION("through a commondir") {
    fs::path fork = make_repo(tmp.path / "fork.git");
    write(fork / "commondir", up.string() + "\n");
    RepoId id = id_of(fork.string());
    CHECK(id.common_dir == upstream.common_dir);
    CHECK(id.git_dir != upstream.git_dir);
    CHECK(id.shares_storage_with(upstream));
  }
  SECTION("through an objects symlink in an otherwise separate repository") {
    fs::path fork = tmp.path / "fork.git";
    fs::create_directories(fork / "refs");
    std::ofstream(fork / "HEAD") << "ref: refs/heads/main\n";
    fs::create_directory_symlink(up / "objects", fork / "objects");
    CHECK(id_of(fork.string()).shares_storage_with(upstream));
  }
  SECTION("a common dir that redirects again is refused") {
    fs::path middle = make_repo(tmp.path / "middle.git");
    write(middle / "commondir", up.string() + "\n");
    fs::path fork = make_repo(tmp.path / "fork.git");
    write(fork / "commondir", middle.string() + "\n");
    CHECK_FALSE(resolve_local_repo(fork.string(), "/"));
  }
  SECTION("nothing there") { CHECK_FALSE(resolve_local_repo((tmp.path / "nothing").string(), "/")); }
}

TEST_CASE("look-alike paths are other repositories", "[local_repo][push_guard]") {
  testing::TempDir tmp;
  fs::path up = make_repo(tmp.path / "up.git");
  fs::path fork = make_repo(tmp.path / "fork.git");
  fs::path upper = make_repo(tmp.path / "FORK.git");
  fs::path plain = make_repo(tmp.path / "fork");
  auto targets = GuardTargets::identify("file://" + fork.string(), "file://" + up.string(), tmp.path);
  CHECK(targets.classify(fork.string()).kind == TargetKind::fork);
  CHECK(targets.classify("file://localhost" + fork.string() + "/").kind == TargetKind::fork);
  CHECK(targets.classify(upper.string()).kind == TargetKind::other);
  CHECK(targets.classify(plain.string()).kind == TargetKind::other);
  CHECK(targets.classify((tmp.path / "UP.git").string()).kind == TargetKind::other);  // no such repository
  CHECK(targets.classify("file://HOST" + up.string()).kind == TargetKind::upstream);
  // file://HOST/PATH is /PATH: a folder named like the host inside the workspace changes nothing.
  fs::create_directories(tmp.path / ".git" / up.relative_path().parent_path());
  fs::create_directory_symlink(fork, tmp.path / ".git" / up.relative_path());
  CHECK(targets.classify("file://.git" + up.string()).kind == TargetKind::upstream);
  CHECK(targets.classify(".git" + up.string()).kind == TargetKind::fork);  // a relative path is that symlink
}

TEST_CASE("a local fork that is the upstream's repository is refused at the moment it is opened", "[push_guard]") {
  testing::TempDir tmp;
  fs::path up = make_repo(tmp.path / "up.git");
  fs::path fork = make_repo(tmp.path / "fork.git");
  fs::create_directory_symlink(fork, tmp.path / "link.git");
  auto targets = GuardTargets::identify("file://" + (tmp.path / "link.git").string(), up.string(), tmp.path);
  auto opened = targets.open_local_fork();
  REQUIRE(opened);
  // Swapping the link after the fork was opened does not move what was opened.
  fs::remove(tmp.path / "link.git");
  fs::create_directory_symlink(up, tmp.path / "link.git");
  CHECK(opened->shown() == fs::canonical(fork));
  CHECK(fs::canonical(opened->pinned_path()) == fs::canonical(fork));
  auto now = targets.open_local_fork();
  REQUIRE_FALSE(now);
  CHECK_THAT(now.error().message, Catch::Contains("the upstream's repository"));
}

TEST_CASE("network URLs: the origin is scheme, host and port", "[git_url]") {
  auto a = parse_network_url("https://x:tok@GitHub.com/Owner/Repo.git/");
  REQUIRE(a);
  CHECK(a->scheme == "https");
  CHECK(a->host == "github.com");
  CHECK(a->port == 443);
  CHECK(a->path == "/owner/repo");
  auto other_port = parse_network_url("http://127.0.0.1:9999/fork.git");
  auto fork = parse_network_url("http://127.0.0.1:8080/fork.git");
  REQUIRE((other_port && fork));
  CHECK_FALSE(other_port->same_origin(*fork));
  CHECK(other_port->same_repository(*fork));
  auto scp = parse_network_url("git@github.com:owner/repo");
  REQUIRE(scp);
  CHECK((scp->scheme == "ssh" && scp->port == 22 && scp->path == "/owner/repo"));
  CHECK(parse_network_url("https://[::1]:8443/x")->port == 8443);
  CHECK_FALSE(parse_network_url("/srv/x"));
  CHECK_FALSE(parse_network_url("file:///srv/x"));
}
