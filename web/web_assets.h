// The pages' stylesheet and script (web/assets/), compiled into the binary at build
// time by web/embed_assets.cmake: the pages need no file at run time and nothing from
// outside the machine.
#pragma once

#include <string_view>

namespace agentron {

struct WebAsset {
  std::string_view path;          // "/assets/page.css"
  std::string_view content_type;  // "text/css; charset=utf-8"
  std::string_view body;
};

// The asset served at `path`, or null.
const WebAsset* find_web_asset(std::string_view path);

}  // namespace agentron
