# Writes OUT, a C++ file defining find_web_asset() (web/web_assets.h) over INPUTS (a
# |-separated list of files in web/assets/), each held as a raw string literal. Run at
# build time:  cmake -DOUT=web_assets.cpp -DINPUTS="a.css|b.js" -P embed_assets.cmake
string(REPLACE "|" ";" INPUTS "${INPUTS}")
set(delimiter "agentron_asset")
set(table "")
set(code "// Generated from web/assets/ by web/embed_assets.cmake: do not edit.\n#include \"web/web_assets.h\"\n\nnamespace agentron {\nnamespace {\n\n")
foreach(input IN LISTS INPUTS)
  file(READ "${input}" content)
  string(FIND "${content}" ")${delimiter}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${input} holds the raw string delimiter )${delimiter}\"")
  endif()
  get_filename_component(name "${input}" NAME)
  get_filename_component(extension "${input}" LAST_EXT)
  string(MAKE_C_IDENTIFIER "${name}" id)
  if(extension STREQUAL ".css")
    set(type "text/css; charset=utf-8")
  elseif(extension STREQUAL ".js")
    set(type "text/javascript; charset=utf-8")
  else()
    message(FATAL_ERROR "${input}: no content type for ${extension}")
  endif()
  string(APPEND code "constexpr std::string_view k_${id} = R\"${delimiter}(${content})${delimiter}\";\n\n")
  string(APPEND table "    {\"/assets/${name}\", \"${type}\", k_${id}},\n")
endforeach()
string(APPEND code "constexpr WebAsset kAssets[] = {\n${table}};\n\n}  // namespace\n\n"
  "const WebAsset* find_web_asset(std::string_view path) {\n"
  "  for (const WebAsset& asset : kAssets) {\n"
  "    if (asset.path == path) return &asset;\n"
  "  }\n"
  "  return nullptr;\n"
  "}\n\n}  // namespace agentron\n")
file(WRITE "${OUT}.tmp" "${code}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
