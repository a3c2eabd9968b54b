#include "web/http_message.h"

#include <strings.h>

#include <algorithm>

namespace keepsake::web {

std::string HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), name.size()) == 0) return value;
  }
  return "";
}

std::string HttpRequest::Param(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? "" : it->second;
}

void EventFeed::Join(Sink sink) {
  std::lock_guard lock(mu_);
  if (!last_.empty() && !sink(last_)) return;
  sinks_.push_back(std::move(sink));
}

void EventFeed::Publish(std::string event) {
  std::lock_guard lock(mu_);
  last_ = std::move(event);
  // A sink only queues the text for its connection, so holding the lock is short.
  std::erase_if(sinks_, [this](const Sink& sink) { return !sink(last_); });
}

size_t EventFeed::streams() const {
  std::lock_guard lock(mu_);
  return sinks_.size();
}

}  // namespace keepsake::web
