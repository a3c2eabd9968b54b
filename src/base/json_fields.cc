#include "base/json_fields.h"

#include <fmt/format.h>
#include <sodium.h>

#include <set>
#include <vector>

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

namespace {

class TextChecker {
 public:
  using json = nlohmann::json;
  TextChecker(size_t max_depth, std::string_view what) : max_depth_(max_depth), what_(what) {}

  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool string(json::string_t& value) { return Clean(value); }
  bool key(json::string_t& key) {
    levels_.back().key = key;
    if (!Clean(key)) return false;
    if (!levels_.back().keys.insert(key).second) {
      return Fail(fmt::format("{} has the key '{}' twice in one object", what_, Printable(key, 64)));
    }
    return true;
  }
  bool start_object(std::size_t) { return Enter(true); }
  bool start_array(std::size_t) { return Enter(false); }
  bool end_object() { return Leave(); }
  bool end_array() { return Leave(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    if (status_.ok()) status_ = Status::Corruption(fmt::format("{} is not valid JSON", what_));
    return false;
  }

  Status status() const { return status_; }

 private:
  struct Level {
    bool object;
    std::string key;  // objects: the key being read
    std::set<std::string> keys;
  };
  bool Enter(bool object) {
    if (levels_.size() >= max_depth_) return Fail(fmt::format("{} nests deeper than {} levels", what_, max_depth_));
    levels_.push_back({object, "", {}});
    return true;
  }
  bool Leave() {
    levels_.pop_back();
    return true;
  }
  bool Clean(const std::string& text) {
    if (!HasControlCharacter(text)) return true;
    return Fail(fmt::format("{} holds a control character in '{}'", what_, Path()));
  }
  std::string Path() const {  // "components[].note"
    std::string path;
    for (const Level& level : levels_) {
      if (!level.object) {
        path += "[]";
      } else if (!level.key.empty()) {
        path += (path.empty() ? "" : ".") + Printable(level.key, 64);
      }
    }
    return path.empty() ? "(top)" : path;
  }
  bool Fail(std::string message) {
    status_ = Status::Corruption(std::move(message));
    return false;
  }

  const size_t max_depth_;
  const std::string_view what_;
  std::vector<Level> levels_;
  Status status_;
};

}  // namespace

Status CheckJsonText(std::string_view json, size_t max_depth, std::string_view what) {
  // nlohmann's lexer takes a NUL byte for the end of input and skips a UTF-8 BOM: neither
  // is JSON (a NUL inside a string must be escaped), so both are refused here.
  if (json.find('\0') != std::string_view::npos || json.starts_with("\xEF\xBB\xBF")) {
    return Status::Corruption(fmt::format("{} is not valid JSON", what));
  }
  TextChecker checker(max_depth, what);
  bool ok = nlohmann::json::sax_parse(json.begin(), json.end(), &checker, nlohmann::json::input_format_t::json,
                                      /*strict=*/true);
  if (!checker.status().ok()) return checker.status();
  if (!ok) return Status::Corruption(fmt::format("{} is not valid JSON", what));
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
