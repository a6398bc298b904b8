// Builds the KeySpecs of one section: each entry binds a key to a member of the
// section's struct and to the SectionReader getter and TOML writer of its kind.
// Only config_registry.cpp uses it.
#pragma once

#include <array>
#include <filesystem>
#include <functional>
#include <string>

#include "config/config_registry.h"
#include "config/section_reader.h"
#include "config/toml_value.h"

namespace agentron {

// A key read and written by hand: its value fills more than one member, or its default
// is worked out as it is read.
inline KeySpec custom_key(std::string name, std::function<void(SectionReader&, Config&)> read,
                          std::function<std::string(const Config&)> write) {
  KeySpec key;
  key.name = std::move(name);
  key.read = std::move(read);
  key.write = std::move(write);
  return key;
}

template <typename Section>
class SectionKeys {
 public:
  explicit SectionKeys(Section Config::*section) : section_(section) {}

  KeySpec boolean(std::string name, bool Section::*member) const {
    return bind(std::move(name), member, &SectionReader::boolean, toml_bool);
  }
  KeySpec string(std::string name, std::string Section::*member) const {
    return bind(std::move(name), member, &SectionReader::string, [](const std::string& v) { return toml_string(v); });
  }
  KeySpec path(std::string name, std::filesystem::path Section::*member) const {
    return bind(std::move(name), member, &SectionReader::path,
                [](const std::filesystem::path& v) { return toml_string(v.string()); });
  }
  KeySpec integer(std::string name, int Section::*member, long long min, long long max) const {
    auto read = [min, max](SectionReader& r, const std::string& key, int& out) { r.integer(key, out, min, max); };
    return bind(std::move(name), member, read, [](int v) { return std::to_string(v); });
  }
  KeySpec number(std::string name, double Section::*member, double min, double max) const {
    auto read = [min, max](SectionReader& r, const std::string& key, double& out) { r.number(key, out, min, max); };
    return bind(std::move(name), member, read, toml_number);
  }
  KeySpec duration(std::string name, Duration Section::*member) const {
    return bind(std::move(name), member, &SectionReader::duration,
                [](Duration v) { return toml_string(format_duration(v)); });
  }
  KeySpec size(std::string name, std::uint64_t Section::*member) const {
    return bind(std::move(name), member, &SectionReader::size,
                [](std::uint64_t v) { return toml_string(format_size(v)); });
  }
  KeySpec signal(std::string name, int Section::*member) const {
    return bind(std::move(name), member, &SectionReader::signal, [](int v) { return toml_string(signal_name(v)); });
  }
  KeySpec string_array(std::string name, std::vector<std::string> Section::*member) const {
    return bind(std::move(name), member, &SectionReader::string_array, toml_array);
  }
  KeySpec string_map(std::string name, std::map<std::string, std::string> Section::*member) const {
    return bind(std::move(name), member, &SectionReader::string_map, toml_table);
  }
  template <typename Kind, size_t N>
  KeySpec choice(std::string name, Kind Section::*member, std::array<Kind, N> kinds) const {
    auto read = [kinds](SectionReader& r, const std::string& key, Kind& out) { r.choice(key, kinds, out); };
    return bind(std::move(name), member, read, [](Kind v) { return toml_string(to_string(v)); });
  }

 private:
  template <typename T, typename Read, typename Write>
  KeySpec bind(std::string name, T Section::*member, Read read, Write write) const {
    auto section = section_;
    return custom_key(
        name, [=](SectionReader& r, Config& c) { std::invoke(read, r, name, c.*section.*member); },
        [=](const Config& c) { return write(c.*section.*member); });
  }

  Section Config::*section_;
};

}  // namespace agentron
