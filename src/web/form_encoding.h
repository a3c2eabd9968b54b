// application/x-www-form-urlencoded, as in a query string ("a=1&b=two+words") or an OAuth
// client's form body: '+' is a space, "%41" a byte, a malformed escape stays as it is.
// Written here because the one HTTP library we link for it (cpp-httplib 0.11) keeps its
// decoder in a private namespace; Boost.URL is not header-only in Debian 12. Thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace keepsake::web {

std::string DecodeFormText(std::string_view text);

// Every "name=value" pair of `text`, decoded; a pair without '=' has an empty value.
std::multimap<std::string, std::string> DecodeFormFields(std::string_view text);

}  // namespace keepsake::web
