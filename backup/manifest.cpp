#include "backup/manifest.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace agentron {

using nlohmann::json;

const char* to_string(EntryType type) {
  switch (type) {
    case EntryType::dir: return "dir";
    case EntryType::file: return "file";
    case EntryType::sqlite: return "sqlite";
    case EntryType::symlink: return "symlink";
  }
  return "?";
}

namespace {

std::optional<EntryType> parse_type(const std::string& s) {
  for (EntryType t : {EntryType::dir, EntryType::file, EntryType::sqlite, EntryType::symlink}) {
    if (s == to_string(t)) return t;
  }
  return std::nullopt;
}

json entry_json(const ManifestEntry& e) {
  json j = {{"path", e.path}, {"type", to_string(e.type)}, {"mode", e.mode}, {"mtime_ns", e.mtime_ns}};
  if (e.type == EntryType::file || e.type == EntryType::sqlite) {
    j["size"] = e.size;
    j["sha256"] = e.sha256;
  }
  if (e.type == EntryType::symlink) j["target"] = e.target;
  if (e.type == EntryType::sqlite) {
    j["integrity"] = e.integrity;
    j["counts"] = e.counts;
  }
  return j;
}

}  // namespace

json Manifest::to_json_value() const {
  json entries_json = json::array();
  for (const auto& e : entries) entries_json.push_back(entry_json(e));
  json skipped_json = json::array();
  for (const auto& s : skipped) skipped_json.push_back({{"path", s.path}, {"reason", s.reason}});
  json j = {{"tool", "agentron-supervisor"},
            {"format", kFormat},
            {"name", name},
            {"kind", kind},
            {"request_id", request_id},
            {"created_at", created_at},
            {"started_ns", started_ns},
            {"data_dir", data_dir},
            {"bytes", bytes},
            {"copied_bytes", copied_bytes},
            {"linked_files", linked_files},
            {"entries", entries_json},
            {"skipped", skipped_json}};
  return j;
}

std::string Manifest::to_json() const { return to_json_value().dump(1) + "\n"; }

Result<Manifest> Manifest::parse(const std::string& text) {
  return from_json(json::parse(text, nullptr, /*allow_exceptions=*/false));
}

Result<Manifest> Manifest::from_json(const json& j) {
  // A const json's operator[] must not be asked for a missing key: value() and at().
  auto field = [&](const char* key) { return j.is_object() ? j.value(key, json()) : json(); };
  if (field("tool") != "agentron-supervisor" || !field("entries").is_array()) {
    return Error{"bad_manifest", "not an agentron-supervisor manifest"};
  }
  if (field("format") != kFormat) {
    return Error{"bad_manifest", "manifest format " + field("format").dump() + " is not supported"};
  }
  try {
    Manifest m;
    m.name = j.at("name").get<std::string>();
    m.kind = j.at("kind").get<std::string>();
    m.request_id = j.value("request_id", "");
    m.created_at = j.at("created_at").get<std::string>();
    m.started_ns = j.value("started_ns", std::int64_t{0});
    m.data_dir = j.at("data_dir").get<std::string>();
    m.bytes = j.value("bytes", std::uint64_t{0});
    m.copied_bytes = j.value("copied_bytes", std::uint64_t{0});
    m.linked_files = j.value("linked_files", std::uint64_t{0});
    for (const auto& e : j.at("entries")) {
      ManifestEntry entry;
      entry.path = e.at("path").get<std::string>();
      auto type = parse_type(e.at("type").get<std::string>());
      if (!type) return Error{"bad_manifest", "unknown entry type for " + entry.path};
      entry.type = *type;
      entry.mode = e.at("mode").get<std::uint32_t>();
      entry.mtime_ns = e.at("mtime_ns").get<std::int64_t>();
      entry.size = e.value("size", std::uint64_t{0});
      entry.sha256 = e.value("sha256", "");
      entry.target = e.value("target", "");
      entry.integrity = e.value("integrity", "");
      if (e.contains("counts")) entry.counts = e["counts"].get<std::map<std::string, std::int64_t>>();
      m.entries.push_back(std::move(entry));
    }
    for (const auto& s : j.value("skipped", json::array())) {
      m.skipped.push_back({s.value("path", ""), s.value("reason", "")});
    }
    return m;
  } catch (const json::exception& e) {
    return Error{"bad_manifest", std::string("malformed manifest: ") + e.what()};
  }
}

Result<json> read_manifest_json(const std::filesystem::path& snapshot_dir) {
  std::ifstream in(snapshot_dir / kManifestFile);
  if (!in) return Error{"no_manifest", "no manifest.json in " + snapshot_dir.string()};
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
}

}  // namespace agentron
