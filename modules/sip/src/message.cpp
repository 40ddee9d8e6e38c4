// SPDX-License-Identifier: Apache-2.0
#include "p2psip/sip/message.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "p2psip/sip/parser.h"
#include "scanner.h"

namespace p2psip::sip {

using namespace detail;

Message::Message() = default;
Message::Message(Message&&) noexcept = default;
Message& Message::operator=(Message&&) noexcept = default;
Message::~Message() = default;

const HeaderField* Message::find(HeaderId id) const {
  for (const auto& h : headers_) {
    if (h.id == id) return &h;
  }
  return nullptr;
}

const HeaderField* Message::find(std::string_view name) const {
  HeaderId id = headerIdFromName(name);
  if (id != HeaderId::Unknown) return find(id);
  for (const auto& h : headers_) {
    if (h.id == HeaderId::Unknown && iequals(h.name, name)) return &h;
  }
  return nullptr;
}

std::size_t Message::count(HeaderId id) const {
  return static_cast<std::size_t>(std::count_if(headers_.begin(), headers_.end(),
                                                [id](const HeaderField& h) { return h.id == id; }));
}

std::vector<std::string_view> Message::values(HeaderId id) const {
  std::vector<std::string_view> out;
  forEachValue(id, [&](std::string_view v) {
    out.push_back(v);
    return true;
  });
  return out;
}

bool Message::nextListItem(std::string_view& rest, std::string_view& item) {
  // Skips empty items: consumers see only values (validation already rejected empties where the
  // grammar forbids them).
  while (!rest.empty()) {
    std::size_t end = findListEnd(rest, 0);
    item = trimLws(rest.substr(0, end));
    rest = end < rest.size() ? rest.substr(end + 1) : std::string_view{};
    if (!item.empty()) return true;
  }
  return false;
}

char* Message::allocate(std::size_t n) {
  if (arenaUsed_ + n > arenaCapacity_) {
    // The current chunk is full: start a new one. Earlier chunks stay put, so views stay valid.
    std::size_t size = std::max<std::size_t>(n, 1024);
    overflow_.push_back(Chunk{std::make_unique<char[]>(size), bufferSize_ + arenaUsed_});
    buffer_.swap(overflow_.back().bytes);  // newest chunk becomes the arena; the old one lives on
    bufferSize_ = 0;
    arenaCapacity_ = size;
    arenaUsed_ = 0;
  }
  char* dst = buffer_.get() + bufferSize_ + arenaUsed_;
  arenaUsed_ += n;
  return dst;
}

std::string_view Message::store(std::string_view text) {
  return storeParts({text});
}

std::string_view Message::storeParts(std::initializer_list<std::string_view> parts) {
  // Joined straight into the arena: edits on the request path allocate nothing per message.
  std::size_t total = 0;
  for (auto p : parts) total += p.size();
  char* dst = allocate(total);
  std::size_t at = 0;
  for (auto p : parts) {
    if (!p.empty()) std::memcpy(dst + at, p.data(), p.size());
    at += p.size();
  }
  return {dst, total};
}

std::size_t Message::firstIndex(HeaderId id) const {
  for (std::size_t i = 0; i < headers_.size(); ++i) {
    if (headers_[i].id == id) return i;
  }
  return headers_.size();
}

void Message::insertField(std::size_t pos, HeaderId id, std::string_view value) {
  HeaderField f;
  f.id = id;
  f.name = canonicalName(id);
  f.value = value;
  headers_.insert(headers_.begin() + static_cast<std::ptrdiff_t>(std::min(pos, headers_.size())),
                  f);
}

void Message::refreshTopVia() const {
  topViaStale_ = false;
  topVia_ = Via{};
  std::size_t i = firstIndex(HeaderId::Via);
  if (i == headers_.size()) return;
  std::string_view v = headers_[i].value;
  auto parsed = parseVia(trimLws(v.substr(0, findListEnd(v, 0))));
  if (parsed) topVia_ = *parsed;
}

void Message::refreshMaxForwards() {
  maxForwards_.reset();
  if (const HeaderField* h = find(HeaderId::MaxForwards)) {
    if (auto v = parseUnsigned(h->value, 255)) maxForwards_ = *v;
  }
}

namespace {

// Removes the first list item of a header line. Returns true when the whole line must go.
bool dropFirstItem(HeaderField& h) {
  std::size_t end = findListEnd(h.value, 0);
  if (end >= h.value.size()) return true;
  h.value = trimLws(h.value.substr(end + 1));
  h.raw = {};
  return h.value.empty();
}

}  // namespace

bool Message::pushVia(std::string_view value) {
  std::string_view stored = store(trimLws(value));
  auto parsed = parseVia(stored);
  if (!parsed) return false;
  std::size_t i = firstIndex(HeaderId::Via);
  insertField(i == headers_.size() ? 0 : i, HeaderId::Via, stored);
  topVia_ = *parsed;
  topViaStale_ = false;
  return true;
}

bool Message::pushVia(const PreparedVia& via, std::string_view branch) {
  if (branch.empty()) return false;
  for (char c : branch) {
    if (!isTokenChar(c)) return false;
  }
  const std::size_t headSize = via.head_.size();
  char* const at = allocate(headSize + branch.size());
  std::memcpy(at, via.head_.data(), headSize);
  std::memcpy(at + headSize, branch.data(), branch.size());
  const std::string_view text(at, headSize + branch.size());
  auto view = [&](PreparedVia::Span span) {
    return span.size == 0 ? std::string_view() : text.substr(span.offset, span.size);
  };
  auto optionalView = [&](const std::optional<PreparedVia::Span>& span) {
    return span ? std::optional<std::string_view>(view(*span)) : std::nullopt;
  };
  std::size_t i = firstIndex(HeaderId::Via);
  insertField(i == headers_.size() ? 0 : i, HeaderId::Via, text);
  Via& top = topVia_;
  top = Via{};
  top.text = text;
  top.protocolName = view(via.protocolName_);
  top.protocolVersion = view(via.protocolVersion_);
  top.transport = view(via.transport_);
  top.host = view(via.host_);
  top.hostKind = via.hostKind_;
  top.port = via.port_;
  top.params = ParamList(text.substr(via.paramsOffset_));
  top.branchParam = text.substr(headSize);
  top.receivedParam = optionalView(via.received_);
  top.rportParam = optionalView(via.rport_);
  top.maddrParam = optionalView(via.maddr_);
  topViaStale_ = false;
  return true;
}

bool Message::popVia() {
  std::size_t i = firstIndex(HeaderId::Via);
  if (i == headers_.size()) return false;
  if (dropFirstItem(headers_[i])) headers_.erase(headers_.begin() + static_cast<std::ptrdiff_t>(i));
  topViaStale_ = true;
  return true;
}

bool Message::popRoute() {
  std::size_t i = firstIndex(HeaderId::Route);
  if (i == headers_.size()) return false;
  if (dropFirstItem(headers_[i])) headers_.erase(headers_.begin() + static_cast<std::ptrdiff_t>(i));
  return true;
}

bool Message::pushRecordRoute(std::string_view value) {
  auto checked = CheckedNameAddr::make(trimLws(value));
  if (!checked) return false;
  pushRecordRoute(*checked);
  return true;
}

void Message::pushRecordRoute(const CheckedNameAddr& value) {
  std::string_view stored = store(value.text());
  std::size_t i = firstIndex(HeaderId::RecordRoute);
  if (i == headers_.size()) {
    // No Record-Route yet: place it below the Via block, where readers expect routing headers.
    i = 0;
    for (std::size_t k = 0; k < headers_.size(); ++k) {
      if (headers_[k].id == HeaderId::Via) i = k + 1;
    }
  }
  insertField(i, HeaderId::RecordRoute, stored);
}

bool Message::decrementMaxForwards() {
  // RFC 3261 §16.6 step 3: decrement, or add one with the recommended 70 when absent.
  if (!maxForwards_) {
    addHeader("Max-Forwards", "70");
    maxForwards_ = 70;
    return true;
  }
  if (*maxForwards_ == 0) return false;
  char digits[4];
  auto r = std::to_chars(digits, digits + sizeof digits, *maxForwards_ - 1);
  setHeader(HeaderId::MaxForwards,
            std::string_view(digits, static_cast<std::size_t>(r.ptr - digits)));
  return true;
}

void Message::addHeader(std::string_view name, std::string_view value) {
  HeaderId id = headerIdFromName(name);
  HeaderField f;
  f.id = id;
  f.name = id != HeaderId::Unknown ? canonicalName(id) : store(name);
  f.value = store(trimLws(value));
  std::size_t pos = headers_.size();
  for (std::size_t k = 0; k < headers_.size(); ++k) {
    if (id != HeaderId::Unknown && headers_[k].id == id) pos = k + 1;
  }
  headers_.insert(headers_.begin() + static_cast<std::ptrdiff_t>(pos), f);
  if (id == HeaderId::MaxForwards) refreshMaxForwards();
  if (id == HeaderId::Via && pos == firstIndex(HeaderId::Via)) refreshTopVia();
}

void Message::setHeader(HeaderId id, std::string_view value) {
  std::string_view stored = store(trimLws(value));
  std::size_t first = firstIndex(id);
  if (first == headers_.size()) {
    insertField(headers_.size(), id, stored);
  } else {
    headers_[first].value = stored;
    headers_[first].raw = {};
    auto it = std::remove_if(headers_.begin() + static_cast<std::ptrdiff_t>(first) + 1,
                             headers_.end(), [id](const HeaderField& h) { return h.id == id; });
    headers_.erase(it, headers_.end());
  }
  if (id == HeaderId::MaxForwards) refreshMaxForwards();
  if (id == HeaderId::Via) refreshTopVia();
}

std::size_t Message::removeHeaders(HeaderId id) {
  auto it = std::remove_if(headers_.begin(), headers_.end(),
                           [id](const HeaderField& h) { return h.id == id; });
  auto n = static_cast<std::size_t>(headers_.end() - it);
  headers_.erase(it, headers_.end());
  if (id == HeaderId::MaxForwards) maxForwards_.reset();
  if (id == HeaderId::Via) refreshTopVia();
  return n;
}

bool Message::setRequestUri(std::string_view uri) {
  if (!isRequest()) return false;
  std::string_view stored = store(uri);
  auto parsed = parseUri(stored);
  if (!parsed) return false;
  requestUriText_ = stored;
  requestUri_ = *parsed;
  startLineEdited_ = true;
  return true;
}

void Message::setToTag(std::string_view tag) {
  std::size_t i = firstIndex(HeaderId::To);
  if (i == headers_.size() || to_.tag()) return;
  headers_[i].value = storeParts({headers_[i].value, ";tag=", tag});
  headers_[i].raw = {};
  if (auto parsed = parseNameAddr(headers_[i].value)) to_ = *parsed;
}

void Message::setBody(std::string_view body, std::string_view contentType) {
  body_ = store(body);
  char digits[24];
  auto r = std::to_chars(digits, digits + sizeof digits, body.size());
  setHeader(HeaderId::ContentLength,
            std::string_view(digits, static_cast<std::size_t>(r.ptr - digits)));
  if (!contentType.empty()) {
    setHeader(HeaderId::ContentType, contentType);
  } else if (body.empty()) {
    removeHeaders(HeaderId::ContentType);
  }
}

void Message::stampReceived(std::string_view sourceAddress, std::uint16_t sourcePort) {
  std::size_t i = firstIndex(HeaderId::Via);
  if (i == headers_.size() || topVia().text.empty()) return;
  // §18.2.1: add received when sent-by differs from the packet's source; RFC 3581 §4: with rport,
  // always add received and fill rport with the source port.
  const bool rport = topVia_.hasRport();
  const bool needReceived = rport || !iequals(topVia_.host, sourceAddress);
  if (!needReceived) return;
  // The new top Via is written straight into the arena (this runs for most inbound requests).
  // Its size is bounded by the old item plus ";received=" + address and "rport=" + 5 digits.
  HeaderField& h = headers_[i];
  const std::size_t end = findListEnd(h.value, 0);
  const std::string_view rest = h.value.substr(end);
  char* const start = allocate(topVia_.text.size() + sourceAddress.size() + 32 + rest.size());
  char* out = start;
  auto put = [&out](std::string_view text) {
    if (!text.empty()) std::memcpy(out, text.data(), text.size());
    out += text.size();
  };
  const std::string_view params = topVia_.params.raw();
  std::size_t prefix = params.empty()
                           ? topVia_.text.size()
                           : static_cast<std::size_t>(params.data() - topVia_.text.data());
  put(trimLws(topVia_.text.substr(0, prefix)));
  topVia_.params.forEach([&](const Param& p) {
    if (iequals(p.name, "received")) return true;
    put(";");
    if (iequals(p.name, "rport")) {
      char digits[8];
      auto r = std::to_chars(digits, digits + sizeof digits, sourcePort);
      put("rport=");
      put(std::string_view(digits, static_cast<std::size_t>(r.ptr - digits)));
      return true;
    }
    put(p.name);
    if (p.hasValue) {
      put("=");
      put(p.value);
    }
    return true;
  });
  put(";received=");
  put(sourceAddress);
  put(rest);
  h.value = std::string_view(start, static_cast<std::size_t>(out - start));
  h.raw = {};
  refreshTopVia();
}

std::string_view Message::canonicalOrWritten(const HeaderField& h) {
  return h.name.empty() ? canonicalName(h.id) : h.name;
}

std::size_t Message::serializedSize() const {
  std::size_t n = 0;
  if (startLineEdited_) {
    n += methodText_.size() + 1 + requestUriText_.size() + 1 + version_.size() + 2;
  } else {
    n += startLine_.size() + 2;
  }
  for (const auto& h : headers_) {
    n += h.raw.empty() ? canonicalOrWritten(h).size() + 2 + h.value.size() + 2 : h.raw.size();
  }
  return n + 2 + body_.size();
}

void Message::serializeTo(std::string& out) const {
  out.reserve(out.size() + serializedSize());
  if (startLineEdited_) {
    out.append(methodText_).append(" ").append(requestUriText_).append(" ").append(version_);
  } else {
    out.append(startLine_);
  }
  out.append("\r\n");
  for (const auto& h : headers_) {
    if (!h.raw.empty()) {
      out.append(h.raw);  // untouched: byte-exact, folding and all
    } else {
      out.append(canonicalOrWritten(h)).append(": ").append(h.value).append("\r\n");
    }
  }
  out.append("\r\n");
  out.append(body_);
}

std::string Message::serialize() const {
  std::string out;
  serializeTo(out);
  return out;
}

}  // namespace p2psip::sip
