// JsonFields: typed, bounded access to the fields of a JSON object read from a file
// (backup header, manifest, keystore). Every missing or mistyped field becomes a
// kCorruption Status naming the field ("<what> field 'domain.salt': missing or not a
// string"), and nothing throws. Holds a reference to the JSON value; not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/encoding.h"
#include "base/status.h"

namespace keepsake {

// JSON text from a file, checked in one streaming pass (nlohmann's SAX parser, no tree)
// before anything parses it for its fields: valid JSON with nothing after the value, objects
// and arrays nested at most `max_depth` deep, no key twice in one object (two readers could
// take different values), and no C0/DEL/C1 control character in any key or string. A
// crafted document then cannot make the tree or its destructor recurse without bound, nor
// carry text a terminal takes for commands in a field nobody reads. kCorruption:
// "{what} is not valid JSON", "{what} nests deeper than {n} levels", "{what} has the key
// '{key}' twice in one object", "{what} holds a control character in '{path}'".
Status CheckJsonText(std::string_view json, size_t max_depth, std::string_view what);

// Overwrites every string value of `j` before the tree frees it (key material, a DMS in a
// request). The parser's own scratch buffer is beyond reach: a limit of nlohmann::json.
void WipeJsonStrings(nlohmann::json& j);

class JsonFields {
 public:
  // `what` names the document in messages ("backup header", "manifest", ...).
  JsonFields(const nlohmann::json& j, std::string what, std::string path = "")
      : j_(j), what_(std::move(what)), path_(std::move(path)) {}

  Result<std::string> String(const char* key, size_t max_len = 1024) const;
  // A missing field gives `fallback`; a mistyped one is an error.
  Result<std::string> OptionalString(const char* key, std::string fallback = "", size_t max_len = 1024) const;
  // A string meant for people or paths, from a file that may be hostile (a backup's header
  // or manifest): as String, and kCorruption "contains a control character" for any C0 or
  // C1 control (an ANSI sequence would redraw the terminal that shows it).
  Result<std::string> Text(const char* key, size_t max_len = 1024) const;
  Result<std::string> OptionalText(const char* key, std::string fallback = "", size_t max_len = 1024) const;
  Result<uint64_t> Uint(const char* key) const;
  Result<uint64_t> OptionalUint(const char* key, uint64_t fallback) const;
  Result<int64_t> Int(const char* key) const;
  Result<JsonFields> Object(const char* key) const;
  // An array of at most `max_items` entries.
  Result<const nlohmann::json*> Array(const char* key, size_t max_items) const;
  Result<std::vector<uint8_t>> Base64(const char* key, size_t size) const;
  Result<std::vector<uint8_t>> Hex(const char* key, size_t size) const;
  template <size_t N>
  Status HexInto(const char* key, std::array<uint8_t, N>& out) const {
    ASSIGN_OR_RETURN(auto bytes, Hex(key, N));
    std::copy(bytes.begin(), bytes.end(), out.begin());
    return Status();
  }

  const nlohmann::json* Find(const char* key) const;
  Status Bad(const char* key, std::string_view why) const;
  const std::string& what() const { return what_; }

 private:
  std::string Name(const char* key) const { return path_ + key; }
  const nlohmann::json& j_;
  std::string what_;
  std::string path_;
};

}  // namespace keepsake
