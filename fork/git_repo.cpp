#include "fork/git_repo.h"

#include <git2.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "fork/fork_errors.h"
#include "fork/git_url.h"

namespace agentron {
namespace fs = std::filesystem;

namespace {

template <typename T, void (*F)(T*)>
struct Freer {
  void operator()(T* p) const {
    if (p) F(p);
  }
};
template <typename T, void (*F)(T*)>
using GitPtr = std::unique_ptr<T, Freer<T, F>>;
using Reference = GitPtr<git_reference, git_reference_free>;
using Object = GitPtr<git_object, git_object_free>;
using Commit = GitPtr<git_commit, git_commit_free>;
using Tree = GitPtr<git_tree, git_tree_free>;
using Index = GitPtr<git_index, git_index_free>;
using Remote = GitPtr<git_remote, git_remote_free>;
using Config = GitPtr<git_config, git_config_free>;
using ConfigIterator = GitPtr<git_config_iterator, git_config_iterator_free>;
using StatusList = GitPtr<git_status_list, git_status_list_free>;
using Signature = GitPtr<git_signature, git_signature_free>;
using Diff = GitPtr<git_diff, git_diff_free>;

Error git_failure(const std::string& what, int rc) {
  const git_error* e = git_error_last();
  std::string detail = e && e->message ? e->message : "libgit2 error " + std::to_string(rc);
  return Error{fork_error::git_error, what + ": " + detail};
}

// Hands the token only to the fork's exact origin (scheme, host, port) and path: a URL
// rewritten elsewhere, another port on the fork's host, a local path — none sees it.
// Redirects are not followed (kNoRedirects), so the URL asked about is the URL used.
// One try: a rejected token is not retried.
struct CredentialState {
  CredentialState(const Credentials* c, const std::string& fork_url)
      : credentials(c), fork(parse_network_url(fork_url)) {}
  const Credentials* credentials;
  std::optional<NetworkUrl> fork;  // nullopt: a local fork, which needs no credentials
  int attempts = 0;
  std::vector<std::string> rejections;  // push: refs the server refused
};

constexpr git_remote_redirect_t kNoRedirects = GIT_REMOTE_REDIRECT_NONE;

bool is_the_fork(const CredentialState& state, const char* url) {
  auto asked = parse_network_url(url ? url : "");
  return state.fork && asked && asked->same_origin(*state.fork) && asked->path == state.fork->path;
}

int credential_callback(git_credential** out, const char* url, const char* username_from_url, unsigned int allowed,
                        void* payload) {
  auto* state = static_cast<CredentialState*>(payload);
  if (++state->attempts > 1) {
    git_error_set_str(GIT_ERROR_NET, "authentication failed (the credentials were refused)");
    return GIT_EUSER;
  }
  if (!is_the_fork(*state, url)) return GIT_PASSTHROUGH;
  if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && !state->credentials->token.empty()) {
    return git_credential_userpass_plaintext_new(out, "x-access-token", state->credentials->token.c_str());
  }
  if (allowed & GIT_CREDENTIAL_SSH_KEY) {
    return git_credential_ssh_key_from_agent(out, username_from_url ? username_from_url : "git");
  }
  return GIT_PASSTHROUGH;
}

std::vector<std::string> config_values(git_config* cfg, const std::string& name) {
  std::vector<std::string> values;
  git_config_iterator* raw = nullptr;
  if (git_config_multivar_iterator_new(&raw, cfg, name.c_str(), nullptr) != 0) return values;
  ConfigIterator it(raw);
  git_config_entry* entry = nullptr;
  while (git_config_next(&entry, it.get()) == 0) values.emplace_back(entry->value);
  return values;
}

// url.<base>.<key> entries, filtered by hand (a glob iterator would compile a regex
// through PCRE2 for every call).
std::vector<UrlRewrite> rewrites(git_config* cfg, const std::string& key) {
  std::vector<UrlRewrite> rules;
  git_config_iterator* raw = nullptr;
  if (git_config_iterator_new(&raw, cfg) != 0) return rules;
  ConfigIterator it(raw);
  git_config_entry* entry = nullptr;
  std::string suffix = "." + key;
  while (git_config_next(&entry, it.get()) == 0) {
    std::string name = entry->name;
    if (name.rfind("url.", 0) != 0 || name.size() <= 4 + suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    rules.push_back({entry->value, name.substr(4, name.size() - 4 - suffix.size())});
  }
  return rules;
}

Result<Commit> lookup_commit(git_repository* repo, const std::string& spec) {
  git_object* raw = nullptr;
  if (int rc = git_revparse_single(&raw, repo, spec.c_str()); rc != 0)
    return git_failure("no commit '" + spec + "'", rc);
  Object obj(raw);
  git_object* peeled = nullptr;
  if (int rc = git_object_peel(&peeled, obj.get(), GIT_OBJECT_COMMIT); rc != 0) {
    return git_failure("'" + spec + "' is not a commit", rc);
  }
  return Commit(reinterpret_cast<git_commit*>(peeled));
}

std::string id_of(const git_commit* commit) { return git_oid_tostr_s(git_commit_id(commit)); }

// Writes `index` as a tree into the repository's object store.
Result<Tree> write_tree(git_index* index, git_repository* repo) {
  git_oid tree_id;
  if (int rc = git_index_write_tree_to(&tree_id, index, repo); rc != 0) return git_failure("cannot write the tree", rc);
  git_tree* raw = nullptr;
  if (int rc = git_tree_lookup(&raw, repo, &tree_id); rc != 0) return git_failure("cannot read the tree", rc);
  return Tree(raw);
}

Result<Signature> signature_now(const Identity& identity) {
  git_signature* raw = nullptr;
  if (int rc = git_signature_now(&raw, identity.name.c_str(), identity.email.c_str()); rc != 0) {
    return git_failure("bad identity ([fork] author_name/author_email)", rc);
  }
  return Signature(raw);
}

}  // namespace

GitLibrary::GitLibrary() { git_libgit2_init(); }
GitLibrary::~GitLibrary() { git_libgit2_shutdown(); }

Status GitLibrary::read_user_config_from(const std::string& home) {
  std::string xdg = home.empty() ? "" : (fs::path(home) / ".config" / "git").string();
  // An empty search path finds nothing (libgit2's sysdir.c); a null one would guess again, from $HOME.
  for (const auto& [level, path] : {std::pair{GIT_CONFIG_LEVEL_GLOBAL, home}, std::pair{GIT_CONFIG_LEVEL_XDG, xdg}}) {
    if (int rc = git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, path.c_str()); rc != 0)
      return git_failure("cannot set git's config search path", rc);
  }
  return ok_status();
}

bool valid_branch_name(const std::string& name) {
  int valid = 0;
  return git_branch_name_is_valid(&valid, name.c_str()) == 0 && valid && name.find("..") == std::string::npos;
}

Result<GitRepo> GitRepo::open(const fs::path& path) {
  git_repository* repo = nullptr;
  if (int rc = git_repository_open_ext(&repo, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr); rc != 0) {
    return git_failure("cannot open the workspace " + path.string(), rc);
  }
  return GitRepo(repo);
}

Result<GitRepo> GitRepo::open_or_init_bare(const fs::path& path) {
  git_repository* repo = nullptr;
  if (git_repository_open_bare(&repo, path.c_str()) == 0) return GitRepo(repo);
  if (int rc = git_repository_init(&repo, path.c_str(), /*is_bare=*/1); rc != 0) {
    return git_failure("cannot create " + path.string(), rc);
  }
  return GitRepo(repo);
}

Result<GitRepo> GitRepo::open_bare(const fs::path& path) {
  git_repository* repo = nullptr;
  if (int rc = git_repository_open_bare(&repo, path.c_str()); rc != 0)
    return git_failure("cannot open " + path.string(), rc);
  return GitRepo(repo);
}

Result<GitRepo> GitRepo::clone(const std::string& url, const fs::path& path, const std::string& branch,
                               const Credentials& credentials) {
  CredentialState state{&credentials, url};
  git_clone_options options = GIT_CLONE_OPTIONS_INIT;
  options.fetch_opts.follow_redirects = kNoRedirects;
  options.fetch_opts.callbacks.credentials = credential_callback;
  options.fetch_opts.callbacks.payload = &state;
  if (!branch.empty()) options.checkout_branch = branch.c_str();
  git_repository* repo = nullptr;
  if (int rc = git_clone(&repo, url.c_str(), path.c_str(), &options); rc != 0) {
    return git_failure("cannot clone " + redact_git_url(url), rc);
  }
  return GitRepo(repo);
}

Result<GitRepo::RemoteBranches> GitRepo::list_remote(const std::string& url, const Credentials& credentials) {
  git_remote* raw = nullptr;
  if (int rc = git_remote_create_detached(&raw, url.c_str()); rc != 0) {
    return git_failure("bad remote URL " + redact_git_url(url), rc);
  }
  Remote remote(raw);
  CredentialState state{&credentials, url};
  git_remote_connect_options connect = GIT_REMOTE_CONNECT_OPTIONS_INIT;
  connect.follow_redirects = kNoRedirects;
  connect.callbacks.credentials = credential_callback;
  connect.callbacks.payload = &state;
  if (int rc = git_remote_connect_ext(remote.get(), GIT_DIRECTION_FETCH, &connect); rc != 0) {
    return git_failure("cannot reach " + redact_git_url(url), rc);
  }
  const git_remote_head** heads = nullptr;
  size_t count = 0;
  if (int rc = git_remote_ls(&heads, &count, remote.get()); rc != 0)
    return git_failure("cannot list " + redact_git_url(url), rc);
  RemoteBranches listed;
  for (size_t i = 0; i < count; ++i) {
    std::string name = heads[i]->name;
    if (name.rfind("refs/heads/", 0) == 0)
      listed.branches.push_back({name.substr(11), git_oid_tostr_s(&heads[i]->oid)});
  }
  git_buf buf = GIT_BUF_INIT;
  if (git_remote_default_branch(&buf, remote.get()) == 0) {
    listed.default_branch = buf.ptr;
    if (listed.default_branch.rfind("refs/heads/", 0) == 0) listed.default_branch = listed.default_branch.substr(11);
  }
  git_buf_dispose(&buf);
  return listed;
}

GitRepo::GitRepo(GitRepo&& other) noexcept : repo_(std::exchange(other.repo_, nullptr)) {}
GitRepo& GitRepo::operator=(GitRepo&& other) noexcept {
  if (this != &other) {
    git_repository_free(repo_);
    repo_ = std::exchange(other.repo_, nullptr);
  }
  return *this;
}
GitRepo::~GitRepo() { git_repository_free(repo_); }

fs::path GitRepo::workdir() const {
  const char* dir = git_repository_workdir(repo_);
  return dir ? fs::path(dir) : fs::path(git_repository_path(repo_));
}

fs::path GitRepo::git_dir() const { return git_repository_path(repo_); }
fs::path GitRepo::common_dir() const { return git_repository_commondir(repo_); }
bool GitRepo::is_bare() const { return git_repository_is_bare(repo_) != 0; }

std::vector<std::string> GitRepo::remote_names() {
  git_strarray names{};
  std::vector<std::string> out;
  if (git_remote_list(&names, repo_) == 0) {
    for (size_t i = 0; i < names.count; ++i) out.emplace_back(names.strings[i]);
  }
  git_strarray_dispose(&names);
  return out;
}

Result<RemoteConfig> GitRepo::remote_config(const std::string& name) {
  git_config* raw = nullptr;
  if (int rc = git_repository_config_snapshot(&raw, repo_); rc != 0) return git_failure("cannot read git config", rc);
  Config cfg(raw);
  RemoteConfig remote;
  remote.name = name;
  remote.urls = config_values(cfg.get(), "remote." + name + ".url");
  remote.pushurls = config_values(cfg.get(), "remote." + name + ".pushurl");
  remote.instead_of = rewrites(cfg.get(), "insteadof");
  remote.push_instead_of = rewrites(cfg.get(), "pushinsteadof");
  if (remote.urls.empty() && remote.pushurls.empty()) {
    return Error{fork_error::no_such_remote, "the workspace has no remote '" + name + "'"};
  }
  return remote;
}

Status GitRepo::add_remote(const std::string& name, const std::string& url) {
  git_remote* raw = nullptr;
  if (int rc = git_remote_create(&raw, repo_, name.c_str(), url.c_str()); rc != 0) {
    return git_failure("cannot add remote " + name, rc);
  }
  git_remote_free(raw);
  return ok_status();
}

Status GitRepo::set_config(const std::string& key, const std::string& value) {
  git_config* raw = nullptr;
  if (int rc = git_repository_config(&raw, repo_); rc != 0) return git_failure("cannot open git config", rc);
  Config cfg(raw);
  if (int rc = git_config_set_string(cfg.get(), key.c_str(), value.c_str()); rc != 0) {
    return git_failure("cannot set " + key, rc);
  }
  return ok_status();
}

namespace {

// True when the index holds exactly HEAD's tree, so status can skip the HEAD-to-index
// diff (which reads every tree object). The index's cached tree (git's TREE extension)
// makes this check nearly free when valid; it is kept valid by commit() and by git itself.
bool index_matches_head(git_repository* repo) {
  git_index* raw = nullptr;
  if (git_repository_index(&raw, repo) != 0) return false;
  Index index(raw);
  git_oid index_tree;
  if (git_index_write_tree(&index_tree, index.get()) != 0) return false;  // e.g. unmerged entries
  auto head = lookup_commit(repo, "HEAD");
  return head && git_oid_equal(&index_tree, git_commit_tree_id(head->get()));
}

}  // namespace

Result<std::vector<GitRepo::Change>> GitRepo::changes() {
  git_status_options options = GIT_STATUS_OPTIONS_INIT;
  options.show = index_matches_head(repo_) ? GIT_STATUS_SHOW_WORKDIR_ONLY : GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  // UPDATE_INDEX writes refreshed stat data back, as `git status` does: otherwise files
  // checked out in the same second as the index was written stay "racily clean" and
  // every later status re-reads them all.
  options.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
                  GIT_STATUS_OPT_EXCLUDE_SUBMODULES | GIT_STATUS_OPT_UPDATE_INDEX;
  git_status_list* raw = nullptr;
  if (int rc = git_status_list_new(&raw, repo_, &options); rc != 0) return git_failure("cannot read the status", rc);
  StatusList list(raw);
  std::vector<Change> changes;
  for (size_t i = 0; i < git_status_list_entrycount(list.get()); ++i) {
    const git_status_entry* e = git_status_byindex(list.get(), i);
    const git_diff_delta* delta = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;
    if (!delta) continue;
    const char* path = delta->new_file.path ? delta->new_file.path : delta->old_file.path;
    // Deleted in the tree (staged or not) unless it is there now.
    std::error_code ec;
    bool gone = !fs::exists(fs::symlink_status(workdir() / path, ec));
    changes.push_back({path, gone});
  }
  return changes;
}

Result<std::vector<std::string>> GitRepo::dirty_paths() {
  auto all = changes();
  if (!all) return all.error();
  std::vector<std::string> paths;
  for (const auto& c : *all) paths.push_back(c.path);
  return paths;
}

Result<std::string> GitRepo::current_branch() {
  git_reference* raw = nullptr;
  int rc = git_repository_head(&raw, repo_);
  if (rc != 0) return git_failure("no current branch", rc);
  Reference head(raw);
  if (!git_reference_is_branch(head.get())) {
    return Error{fork_error::detached_head,
                 "the workspace is not on a branch (detached HEAD); check out a branch first"};
  }
  return std::string(git_reference_shorthand(head.get()));
}

Result<std::string> GitRepo::head_commit() { return resolve_commit("HEAD"); }

Result<std::string> GitRepo::resolve_commit(const std::string& spec) {
  auto commit = lookup_commit(repo_, spec);
  if (!commit) return commit.error();
  return id_of(commit->get());
}

Result<bool> GitRepo::is_ancestor(const std::string& commit, const std::string& tip) {
  git_oid a, b;
  if (git_oid_fromstr(&a, commit.c_str()) != 0 || git_oid_fromstr(&b, tip.c_str()) != 0) {
    return Error{fork_error::bad_commit, "not a full commit id"};
  }
  if (git_oid_equal(&a, &b)) return true;
  int rc = git_graph_descendant_of(repo_, &b, &a);
  if (rc < 0) return git_failure("cannot compare commits", rc);
  return rc == 1;
}

Result<std::vector<RemoteHead>> GitRepo::fetch_from(const std::string& url, const std::string& refspec,
                                                    const Credentials& credentials) {
  git_remote_create_options create = GIT_REMOTE_CREATE_OPTIONS_INIT;
  create.repository = repo_;
  create.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
  git_remote* raw = nullptr;
  if (int rc = git_remote_create_with_opts(&raw, url.c_str(), &create); rc != 0) {
    return git_failure("bad remote URL " + redact_git_url(url), rc);
  }
  Remote remote(raw);
  CredentialState state{&credentials, url};
  git_fetch_options options = GIT_FETCH_OPTIONS_INIT;
  options.follow_redirects = kNoRedirects;
  options.prune = GIT_FETCH_PRUNE;
  options.callbacks.credentials = credential_callback;
  options.callbacks.payload = &state;
  std::string spec = refspec;
  char* specs[] = {spec.data()};
  git_strarray refspecs{specs, 1};
  if (int rc = git_remote_fetch(remote.get(), &refspecs, &options, nullptr); rc != 0) {
    return git_failure("cannot fetch " + redact_git_url(url), rc);
  }
  // What the remote advertised in this very fetch (kept after the disconnect).
  const git_remote_head** heads = nullptr;
  size_t count = 0;
  if (int rc = git_remote_ls(&heads, &count, remote.get()); rc != 0)
    return git_failure("cannot list " + redact_git_url(url), rc);
  std::vector<RemoteHead> branches;
  for (size_t i = 0; i < count; ++i) {
    std::string name = heads[i]->name;
    if (name.rfind("refs/heads/", 0) == 0) branches.push_back({name.substr(11), git_oid_tostr_s(&heads[i]->oid)});
  }
  return branches;
}

Result<FastForward> GitRepo::fast_forward(const std::string& target) {
  auto head = lookup_commit(repo_, "HEAD");
  if (!head) return head.error();
  auto to = lookup_commit(repo_, target);
  if (!to) return to.error();
  FastForward result{id_of(head->get()), id_of(to->get())};
  if (!result.changed()) return result;
  auto behind = is_ancestor(result.from, result.to);
  if (!behind) return behind.error();
  if (!*behind) {
    auto ahead = is_ancestor(result.to, result.from);
    if (ahead && *ahead) return FastForward{result.from, result.from};  // ahead: nothing to take
    return Error{fork_error::diverged, "the branch has diverged from " + target + " (local " +
                                           result.from.substr(0, 12) + ", remote " + result.to.substr(0, 12) +
                                           "); nothing was changed"};
  }
  git_checkout_options options = GIT_CHECKOUT_OPTIONS_INIT;
  options.checkout_strategy = GIT_CHECKOUT_SAFE;
  if (int rc = git_checkout_tree(repo_, reinterpret_cast<git_object*>(to->get()), &options); rc != 0) {
    return git_failure("cannot check out " + target, rc);
  }
  git_reference* raw = nullptr;
  if (int rc = git_repository_head(&raw, repo_); rc != 0) return git_failure("no HEAD", rc);
  Reference ref(raw);
  git_reference* updated = nullptr;
  if (int rc = git_reference_set_target(&updated, ref.get(), git_commit_id(to->get()), "fast-forward"); rc != 0) {
    return git_failure("cannot move the branch", rc);
  }
  git_reference_free(updated);
  return result;
}

Result<FastForward> GitRepo::merge(const std::string& target, const Identity& identity) {
  auto ff = fast_forward(target);
  if (ff || ff.error().code != "diverged") return ff;
  auto ours = lookup_commit(repo_, "HEAD");
  auto theirs = lookup_commit(repo_, target);
  if (!ours || !theirs) return Error{fork_error::git_error, "cannot read the commits to merge"};
  // Merged in memory first: a conflict is found without touching the tree or HEAD.
  git_index* raw_index = nullptr;
  git_merge_options merge_options = GIT_MERGE_OPTIONS_INIT;
  if (int rc = git_merge_commits(&raw_index, repo_, ours->get(), theirs->get(), &merge_options); rc != 0) {
    return git_failure("cannot merge " + target, rc);
  }
  Index merged(raw_index);
  if (git_index_has_conflicts(merged.get())) {
    std::set<std::string> paths;
    git_index_conflict_iterator* iter = nullptr;
    if (git_index_conflict_iterator_new(&iter, merged.get()) == 0) {
      const git_index_entry *ancestor, *a, *b;
      while (git_index_conflict_next(&ancestor, &a, &b, iter) == 0) {
        for (const git_index_entry* e : {ancestor, a, b}) {
          if (e) paths.insert(e->path);
        }
      }
      git_index_conflict_iterator_free(iter);
    }
    std::string list;
    for (const auto& p : paths) list += (list.empty() ? "" : ", ") + p;
    return Error{fork_error::conflict, "merging " + target + " conflicts in: " + list + "; nothing was changed"};
  }
  auto tree = write_tree(merged.get(), repo_);
  if (!tree) return tree.error();
  auto sig = signature_now(identity);
  if (!sig) return sig.error();
  git_checkout_options checkout = GIT_CHECKOUT_OPTIONS_INIT;
  checkout.checkout_strategy = GIT_CHECKOUT_SAFE;
  if (int rc = git_checkout_tree(repo_, reinterpret_cast<git_object*>(tree->get()), &checkout); rc != 0) {
    return git_failure("cannot check out the merge", rc);
  }
  const git_commit* parents[] = {ours->get(), theirs->get()};
  git_oid commit_id;
  auto branch = current_branch();
  std::string message = "Merge " + target + (branch ? " into " + *branch : std::string());
  if (int rc = git_commit_create(&commit_id, repo_, "HEAD", sig->get(), sig->get(), nullptr, message.c_str(),
                                 tree->get(), 2, parents);
      rc != 0) {
    return git_failure("cannot commit the merge", rc);
  }
  return FastForward{id_of(ours->get()), git_oid_tostr_s(&commit_id)};
}

Status GitRepo::create_branch(const std::string& name) {
  if (!valid_branch_name(name)) return Error{fork_error::bad_branch, "'" + name + "' is not a valid branch name"};
  auto head = lookup_commit(repo_, "HEAD");
  if (!head) return head.error();
  git_reference* raw = nullptr;
  if (int rc = git_branch_create(&raw, repo_, name.c_str(), head->get(), 0); rc != 0) {
    if (rc == GIT_EEXISTS) return Error{fork_error::branch_exists, "branch '" + name + "' already exists"};
    return git_failure("cannot create branch " + name, rc);
  }
  Reference branch(raw);
  if (int rc = git_repository_set_head(repo_, git_reference_name(branch.get())); rc != 0) {
    return git_failure("cannot switch to " + name, rc);
  }
  return ok_status();
}

Result<std::string> GitRepo::commit(const std::string& message, const std::vector<Change>& changes,
                                    const Identity& identity) {
  if (changes.empty()) return Error{fork_error::nothing_to_commit, "nothing to commit: no changes in the workspace"};
  // The commit's tree is HEAD's tree plus exactly these changes (git's `commit --only`):
  // something else already staged stays staged, out of this commit.
  auto head = lookup_commit(repo_, "HEAD");
  git_index* raw_commit_index = nullptr;
  if (int rc = git_index_new(&raw_commit_index); rc != 0) return git_failure("cannot make an index", rc);
  Index commit_index(raw_commit_index);
  if (head) {
    git_tree* raw_head_tree = nullptr;
    if (int rc = git_commit_tree(&raw_head_tree, head->get()); rc != 0) return git_failure("cannot read HEAD", rc);
    Tree head_tree(raw_head_tree);
    if (int rc = git_index_read_tree(commit_index.get(), head_tree.get()); rc != 0)
      return git_failure("cannot read HEAD", rc);
  }
  for (const auto& c : changes) {
    if (c.deleted) {
      git_index_remove(commit_index.get(), c.path.c_str(), 0);
      continue;
    }
    git_index_entry entry{};
    if (int rc = git_blob_create_from_workdir(&entry.id, repo_, c.path.c_str()); rc != 0) {
      return git_failure("cannot read " + c.path, rc);
    }
    struct stat st {};
    ::lstat((workdir() / c.path).c_str(), &st);
    entry.mode = S_ISLNK(st.st_mode)   ? GIT_FILEMODE_LINK
                 : (st.st_mode & 0111) ? GIT_FILEMODE_BLOB_EXECUTABLE
                                       : GIT_FILEMODE_BLOB;
    entry.path = c.path.c_str();
    if (int rc = git_index_add(commit_index.get(), &entry); rc != 0) return git_failure("cannot stage " + c.path, rc);
  }
  auto tree = write_tree(commit_index.get(), repo_);
  if (!tree) return tree.error();
  auto sig = signature_now(identity);
  if (!sig) return sig.error();
  const git_commit* parents[] = {head ? head->get() : nullptr};
  git_oid commit_id;
  if (int rc = git_commit_create(&commit_id, repo_, "HEAD", sig->get(), sig->get(), nullptr, message.c_str(),
                                 tree->get(), head ? 1 : 0, parents);
      rc != 0) {
    return git_failure("cannot commit", rc);
  }
  // The workspace's own index learns the committed paths, so they show as clean.
  git_index* raw_index = nullptr;
  if (git_repository_index(&raw_index, repo_) == 0) {
    Index index(raw_index);
    for (const auto& c : changes) {
      if (c.deleted)
        git_index_remove_bypath(index.get(), c.path.c_str());
      else
        git_index_add_bypath(index.get(), c.path.c_str());
    }
    // Recomputing the cached tree (only the changed directories) keeps the next status cheap.
    git_oid cached;
    git_index_write_tree(&cached, index.get());
    git_index_write(index.get());
  }
  return std::string(git_oid_tostr_s(&commit_id));
}

namespace {

int push_update_reference(const char* refname, const char* status, void* payload) {
  // libgit2 reports a server-side rejection only here, not as the push's result.
  if (status) static_cast<CredentialState*>(payload)->rejections.push_back(std::string(refname) + ": " + status);
  return 0;
}

}  // namespace

Status GitRepo::push_branch(const std::string& url, const std::string& branch, const Credentials& credentials) {
  git_remote_create_options create = GIT_REMOTE_CREATE_OPTIONS_INIT;
  create.repository = repo_;
  create.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
  git_remote* raw = nullptr;
  if (int rc = git_remote_create_with_opts(&raw, url.c_str(), &create); rc != 0) {
    return git_failure("bad fork URL " + redact_git_url(url), rc);
  }
  Remote remote(raw);
  CredentialState state{&credentials, url};
  git_push_options options = GIT_PUSH_OPTIONS_INIT;
  options.follow_redirects = kNoRedirects;
  options.callbacks.credentials = credential_callback;
  options.callbacks.push_update_reference = push_update_reference;
  options.callbacks.payload = &state;
  std::string refspec = "refs/heads/" + branch + ":refs/heads/" + branch;
  char* specs[] = {refspec.data()};
  git_strarray refspecs{specs, 1};
  int rc = git_remote_push(remote.get(), &refspecs, &options);
  if (rc == GIT_ENONFASTFORWARD) {
    return Error{
        fork_error::non_fast_forward,
        "the fork's branch '" + branch + "' has commits this workspace does not have; run clone-or-pull first"};
  }
  if (rc != 0) return git_failure("push to the fork failed", rc);
  if (!state.rejections.empty()) {
    return Error{fork_error::push_rejected, "the fork rejected the push: " + state.rejections.front()};
  }
  return ok_status();
}

Status GitRepo::set_remote_ref(const std::string& remote, const std::string& branch, const std::string& commit) {
  git_oid id;
  if (git_oid_fromstr(&id, commit.c_str()) != 0) return Error{fork_error::bad_commit, "not a commit id: " + commit};
  git_reference* raw = nullptr;
  std::string name = "refs/remotes/" + remote + "/" + branch;
  if (int rc = git_reference_create(&raw, repo_, name.c_str(), &id, 1, "push"); rc != 0) {
    return git_failure("cannot update " + name, rc);
  }
  git_reference_free(raw);
  return ok_status();
}

Status GitRepo::export_tree(const std::string& commit, const fs::path& dest) {
  auto c = lookup_commit(repo_, commit);
  if (!c) return c.error();
  std::string target = dest.string();
  git_checkout_options options = GIT_CHECKOUT_OPTIONS_INIT;
  options.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX;
  options.target_directory = target.c_str();
  if (int rc = git_checkout_tree(repo_, reinterpret_cast<git_object*>(c->get()), &options); rc != 0) {
    return git_failure("cannot check out " + commit + " into " + target, rc);
  }
  return ok_status();
}

}  // namespace agentron
