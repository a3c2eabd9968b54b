#include "base/json_fields.h"

#include <fmt/format.h>
#include <sodium.h>

#include "base/strings.h"

namespace keepsake {

void WipeJsonStrings(nlohmann::json& j) {
  if (j.is_string()) {
    auto& text = j.get_ref<std::string&>();
    sodium_memzero(text.data(), text.size());
  } else if (j.is_structured()) {
    for (auto& item : j) WipeJsonStrings(item);
  }
}

Status CheckJsonDepth(std::string_view json, size_t max_depth, std::string_view what) {
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : json) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        return Status::Corruption(fmt::format("{} nests deeper than {} levels", what, max_depth));
      }
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return Status();
}

const nlohmann::json* JsonFields::Find(const char* key) const {
  if (!j_.is_object()) return nullptr;
  auto it = j_.find(key);
  return it == j_.end() ? nullptr : &*it;
}

Status JsonFields::Bad(const char* key, std::string_view why) const {
  return Status::Corruption(fmt::format("{} field '{}': {}", what_, Name(key), why));
}

Result<std::string> JsonFields::String(const char* key, size_t max_len) const {
  const auto* v = Find(key);
  if (v == nullptr || !v->is_string()) return Bad(key, "missing or not a string");
  const auto& s = v->get_ref<const std::string&>();
  if (s.size() > max_len) return Bad(key, "too long");
  return s;
}

Result<std::string> JsonFields::OptionalString(const char* key, std::string fallback, size_t max_len) const {
  if (Find(key) == nullptr) return fallback;
  return String(key, max_len);
}

Result<std::string> JsonFields::Text(const char* key, size_t max_len) const {
  ASSIGN_OR_RETURN(std::string s, String(key, max_len));
  if (HasControlCharacter(s)) return Bad(key, "contains a control character");
  return s;
}

Result<std::string> JsonFields::OptionalText(const char* key, std::string fallback, size_t max_len) const {
  if (Find(key) == nullptr) return fallback;
  return Text(key, max_len);
}

Result<uint64_t> JsonFields::Uint(const char* key) const {
  const auto* v = Find(key);
  if (v == nullptr || !v->is_number_unsigned()) return Bad(key, "missing or not a non-negative integer");
  return v->get<uint64_t>();
}

Result<uint64_t> JsonFields::OptionalUint(const char* key, uint64_t fallback) const {
  if (Find(key) == nullptr) return fallback;
  return Uint(key);
}

Result<int64_t> JsonFields::Int(const char* key) const {
  const auto* v = Find(key);
  if (v == nullptr || !v->is_number_integer()) return Bad(key, "missing or not an integer");
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return Bad(key, "too large");
  return v->get<int64_t>();
}

Result<JsonFields> JsonFields::Object(const char* key) const {
  const auto* v = Find(key);
  if (v == nullptr || !v->is_object()) return Bad(key, "missing or not an object");
  return JsonFields(*v, what_, Name(key) + ".");
}

Result<const nlohmann::json*> JsonFields::Array(const char* key, size_t max_items) const {
  const auto* v = Find(key);
  if (v == nullptr || !v->is_array()) return Bad(key, "missing or not an array");
  if (v->size() > max_items) return Bad(key, fmt::format("more than {} entries", max_items));
  return v;
}

Result<std::vector<uint8_t>> JsonFields::Base64(const char* key, size_t size) const {
  ASSIGN_OR_RETURN(std::string s, String(key));
  auto bytes = FromBase64(s, size);
  if (!bytes.ok()) return Bad(key, bytes.status().message());
  return bytes;
}

Result<std::vector<uint8_t>> JsonFields::Hex(const char* key, size_t size) const {
  ASSIGN_OR_RETURN(std::string s, String(key));
  auto bytes = FromHex(s, size);
  if (!bytes.ok()) return Bad(key, bytes.status().message());
  return bytes;
}

}  // namespace keepsake
