// SPDX-License-Identifier: Apache-2.0
#include "p2psip/sip/via.h"

#include "generic_params.h"
#include "host.h"
#include "scanner.h"

namespace p2psip::sip {

using namespace detail;

namespace {

tl::unexpected<Error> viaError(const char* what) {
  return makeError(ErrorCode::ParseError, what);
}

bool validReceived(std::string_view v) {
  // RFC 3261 allows IPv4address / IPv6address; RFC 5118 §4.5 asks parsers to accept "[v6]" too.
  if (v.size() > 2 && v.front() == '[' && v.back() == ']') v = v.substr(1, v.size() - 2);
  return isIpv4Address(v) || isIpv6Address(v);
}

}  // namespace

const char* detail::parseViaInto(std::string_view text, Via& via) {
  // via-parm = sent-protocol LWS sent-by *( SEMI via-params )   (RFC 3261 §20.42, §25.1)
  via = Via{};
  text = trimLws(text);
  via.text = text;
  Cursor c{text};
  via.protocolName = c.token();
  if (via.protocolName.empty() || !c.consumeSeparator('/')) return "malformed sent-protocol";
  via.protocolVersion = c.token();
  if (via.protocolVersion.empty() || !c.consumeSeparator('/')) return "malformed sent-protocol";
  via.transport = c.token();
  if (via.transport.empty()) return "missing transport";
  std::size_t beforeLws = c.pos;
  c.skipLws();
  if (c.pos == beforeLws) return "missing space before sent-by";
  std::size_t hostStart = c.pos;
  if (c.peek() == '[') {
    std::size_t close = text.find(']', c.pos);
    if (close == std::string_view::npos) return "unterminated IPv6 reference in sent-by";
    c.pos = close + 1;
  } else {
    while (!c.atEnd() &&
           (isAlnum(c.peek()) || c.peek() == '.' || c.peek() == '-' || c.peek() == '_'))
      ++c.pos;
  }
  if (!parseHost(text.substr(hostStart, c.pos - hostStart), via.host, via.hostKind))
    return "invalid sent-by host";
  if (c.consumeSeparator(':')) {
    std::uint64_t port = 0;
    if (!parseDecimal(c.digits(), 65535, port)) return "invalid sent-by port";
    via.port = static_cast<std::uint16_t>(port);
  }
  std::string_view params = c.rest();
  const char* problem = "malformed Via parameters";
  bool ok = forEachGenericParam(params, [&](const Param& p) {
    // Only the parameters RFC 3261 §20.42 and RFC 3581 give meaning to are checked further.
    switch (p.name.size()) {
      case 6:
        if (iequals(p.name, "branch")) {
          if (!via.branchParam) via.branchParam = p.value;
          problem = "invalid branch";
          return p.hasValue && p.value.front() != '"';
        }
        break;
      case 8:
        if (iequals(p.name, "received")) {
          if (!via.receivedParam) via.receivedParam = p.value;
          problem = "invalid received address";
          return p.hasValue && validReceived(p.value);
        }
        break;
      case 5:
        if (iequals(p.name, "rport")) {
          if (!via.rportParam) via.rportParam = p.value;
          std::uint64_t v = 0;
          problem = "invalid rport";
          return !p.hasValue || parseDecimal(p.value, 65535, v);
        }
        if (iequals(p.name, "maddr")) {
          if (!via.maddrParam) via.maddrParam = p.value;
          std::string_view h;
          HostKind k;
          problem = "invalid maddr";
          return p.hasValue && parseHost(p.value, h, k);
        }
        break;
      case 3:
        if (iequals(p.name, "ttl")) {
          std::uint64_t v = 0;
          problem = "invalid ttl";
          return p.hasValue && p.value.size() <= 3 && parseDecimal(p.value, 255, v);
        }
        break;
      default:
        break;
    }
    return true;
  });
  via.params = ParamList(trimLws(params));
  if (!ok) return problem;
  return nullptr;
}

Result<Via> parseVia(std::string_view text) {
  Via via;
  if (const char* problem = detail::parseViaInto(text, via)) return viaError(problem);
  return via;
}

// Every view of a Via is kept as a Span below and read back in Message::pushVia(PreparedVia, ...):
// a field added to Via must be added to both (and to message_clone.cpp), then update the size.
#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(Via) == 200, "a Via field was added: keep it in PreparedVia too");
#endif

Result<PreparedVia> PreparedVia::make(std::string_view head) {
  // Parsed with a stand-in branch, which must come out as the Via's branch: a head that carries
  // one of its own would shadow every branch written after it (§17.1.3 matches on the first).
  constexpr std::string_view kBranch = ";branch=";
  constexpr std::string_view kStandIn = "z9hG4bKstandin";
  PreparedVia prepared;
  prepared.head_ = std::string(trimLws(head));
  prepared.head_ += kBranch;  // ends every head
  const std::string full = prepared.head_ + std::string(kStandIn);
  Via via;
  if (const char* problem = detail::parseViaInto(full, via)) return viaError(problem);
  if (!via.branchParam || via.branchParam->data() != full.data() + prepared.head_.size())
    return viaError("a prepared Via must not carry a branch of its own");
  // An empty view may point nowhere (a parameter without a value): it reads back as empty.
  auto span = [&](std::string_view v) {
    if (v.empty()) return Span{};
    return Span{static_cast<std::size_t>(v.data() - full.data()), v.size()};
  };
  auto optionalSpan = [&](const std::optional<std::string_view>& v) -> std::optional<Span> {
    if (!v) return std::nullopt;
    return span(*v);
  };
  prepared.protocolName_ = span(via.protocolName);
  prepared.protocolVersion_ = span(via.protocolVersion);
  prepared.transport_ = span(via.transport);
  prepared.host_ = span(via.host);
  prepared.hostKind_ = via.hostKind;
  prepared.port_ = via.port;
  prepared.paramsOffset_ = span(via.params.raw()).offset;
  prepared.received_ = optionalSpan(via.receivedParam);
  prepared.rport_ = optionalSpan(via.rportParam);
  prepared.maddr_ = optionalSpan(via.maddrParam);
  return prepared;
}

std::optional<std::uint16_t> Via::rport() const {
  const auto& v = rportParam;
  std::uint64_t port = 0;
  if (v && parseDecimal(*v, 65535, port)) return static_cast<std::uint16_t>(port);
  return std::nullopt;
}

bool Via::isRfc3261Branch() const {
  auto b = branch();
  return b && b->size() > kMagicCookie.size() && b->substr(0, kMagicCookie.size()) == kMagicCookie;
}

std::uint16_t Via::portOrDefault() const {
  if (port) return *port;
  return iequals(transport, "TLS") ? 5061 : 5060;
}

}  // namespace p2psip::sip
