// SPDX-License-Identifier: Apache-2.0
#include "p2psip/sip/parser.h"

#include <array>
#include <cstring>

#include "header_name_hash.h"
#include "host.h"
#include "name_addr_parser.h"
#include "scanner.h"

namespace p2psip::sip {

using namespace detail;

const char* toString(ParseErrorCode code) {
  switch (code) {
    case ParseErrorCode::Empty:
      return "empty";
    case ParseErrorCode::TooLarge:
      return "message too large";
    case ParseErrorCode::TooManyHeaders:
      return "too many headers";
    case ParseErrorCode::HeaderTooLong:
      return "header too long";
    case ParseErrorCode::Truncated:
      return "truncated";
    case ParseErrorCode::BadStartLine:
      return "bad start line";
    case ParseErrorCode::BadVersion:
      return "unsupported SIP version";
    case ParseErrorCode::BadStatusCode:
      return "bad status code";
    case ParseErrorCode::BadRequestUri:
      return "bad Request-URI";
    case ParseErrorCode::BadHeader:
      return "bad header";
    case ParseErrorCode::MissingHeader:
      return "missing header";
    case ParseErrorCode::DuplicateHeader:
      return "duplicate header";
    case ParseErrorCode::BadContentLength:
      return "bad Content-Length";
    case ParseErrorCode::MethodMismatch:
      return "CSeq method mismatch";
  }
  return "parse error";
}

// Builds Messages. A friend of Message; everything here is private to the sip module.
class MessageParser {
 public:
  enum class Framing { Datagram, Exact };

  // `lenient` returns the message even when a header fails validation (the stack's own responses
  // echo whatever the request carried); structural problems still fail.
  static Result<Message, ParseError> parse(std::string_view bytes, const ParseLimits& limits,
                                           Framing framing, bool lenient = false);

 private:
  struct Failure {
    ParseErrorCode code;
    std::string detail;
    std::uint16_t status;
  };

  static tl::unexpected<ParseError> fail(ParseErrorCode code, std::string detail,
                                         std::uint16_t status) {
    return tl::unexpected(ParseError{code, std::move(detail), status, std::nullopt});
  }
  static std::optional<Failure> parseStartLine(Message& m, std::string_view line);
  static std::optional<Failure> validate(Message& m, bool& respondable);
};

namespace {

bool isSipVersion(std::string_view v) {
  // SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT, case-insensitive (RFC 3261 §7.1).
  if (v.size() < 7 || !iequals(v.substr(0, 4), "SIP/")) return false;
  std::size_t dot = v.find('.', 4);
  if (dot == std::string_view::npos || dot == 4 || dot + 1 >= v.size()) return false;
  for (std::size_t i = 4; i < v.size(); ++i) {
    if (i != dot && !isDigit(v[i])) return false;
  }
  return true;
}

std::string headerProblem(HeaderId id, std::string_view problem) {
  std::string s = "bad ";
  s += canonicalName(id);
  s += " header (";
  s += problem;
  s += ')';
  return s;
}

// Finds the end of the header block. Returns the offset of the body, or npos; `headerEnd` gets the
// offset just after the last header line's line break. Accepts CRLF and bare LF line endings.
std::size_t findBodyStart(std::string_view s, std::size_t& headerEnd) {
  std::size_t i = 0;
  while (true) {
    const void* p = std::memchr(s.data() + i, '\n', s.size() - i);
    if (p == nullptr) return std::string_view::npos;
    std::size_t nl = static_cast<std::size_t>(static_cast<const char*>(p) - s.data());
    std::size_t next = nl + 1;
    if (next < s.size() && s[next] == '\n') {
      headerEnd = next;
      return next + 1;
    }
    if (next + 1 < s.size() && s[next] == '\r' && s[next + 1] == '\n') {
      headerEnd = next;
      return next + 2;
    }
    i = next;
    if (i >= s.size()) return std::string_view::npos;
  }
}

}  // namespace

std::optional<MessageParser::Failure> MessageParser::parseStartLine(Message& m,
                                                                    std::string_view line) {
  m.startLine_ = line;
  if (line.size() >= 4 && iequals(line.substr(0, 4), "SIP/")) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2)
    std::size_t sp = line.find(' ');
    m.version_ = line.substr(0, sp);
    m.statusCode_ = 999;  // a response, even if the code turns out bad
    if (sp == std::string_view::npos || !isSipVersion(m.version_)) {
      return Failure{ParseErrorCode::BadStartLine, "malformed status line", 0};
    }
    std::string_view rest = line.substr(sp + 1);
    std::size_t sp2 = rest.find(' ');
    std::string_view code = rest.substr(0, sp2);
    std::uint64_t status = 0;
    if (code.size() != 3 || !parseDecimal(code, 699, status) || status < 100) {
      return Failure{ParseErrorCode::BadStatusCode, "status code outside 100-699", 0};
    }
    m.statusCode_ = static_cast<std::uint16_t>(status);
    m.reason_ = sp2 == std::string_view::npos ? std::string_view{} : rest.substr(sp2 + 1);
    for (char c : m.reason_) {
      if (c == '\r' || c == '\n' || c == '\0')
        return Failure{ParseErrorCode::BadStartLine, "control character in reason phrase", 0};
    }
    return std::nullopt;
  }
  // Request-Line = Method SP Request-URI SP SIP-Version CRLF, single spaces (RFC 3261 §7.1,
  // RFC 4475 §3.1.2.8-3.1.2.10).
  std::size_t sp1 = line.find(' ');
  m.methodText_ = line.substr(0, sp1);
  m.method_ = methodFromToken(m.methodText_);
  if (sp1 == std::string_view::npos || m.methodText_.empty() || !isToken(m.methodText_)) {
    return Failure{ParseErrorCode::BadStartLine, "malformed request line", 400};
  }
  std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) {
    return Failure{ParseErrorCode::BadStartLine,
                   "request line needs single spaces between its parts", 400};
  }
  m.requestUriText_ = line.substr(sp1 + 1, sp2 - sp1 - 1);
  m.version_ = line.substr(sp2 + 1);
  if (!isSipVersion(m.version_)) {
    return Failure{ParseErrorCode::BadStartLine,
                   "request line has extra spaces or no SIP version after the Request-URI", 400};
  }
  return std::nullopt;
}

std::optional<MessageParser::Failure> MessageParser::validate(Message& m, bool& respondable) {
  // Counting per HeaderId catches repeated single-valued headers (RFC 4475 §3.3.8, §3.3.9).
  std::array<std::uint8_t, static_cast<std::size_t>(HeaderId::kCount)> counts{};
  for (const auto& h : m.headers_) {
    auto& c = counts[static_cast<std::size_t>(h.id)];
    if (c < 255) ++c;
  }
  auto count = [&](HeaderId id) { return counts[static_cast<std::size_t>(id)]; };

  // Via first: without a usable top Via nothing can be answered (§18.2.2).
  if (count(HeaderId::Via) == 0)
    return Failure{ParseErrorCode::MissingHeader, "missing Via header", 400};
  bool first = true;
  // A response is checked only as far as its receiver uses it: the top Via (our own, §18.1.2) and
  // the headers below. The Vias under it, its Contact and its Record-Route belong to the UAs
  // upstream (§16.7 steps 3 and 9, §12.1.2); a proxy relays them as they are, and dropping a 2xx
  // over a header nobody here reads would only make the UAS retransmit it until Timer H.
  const bool response = m.isResponse();
  std::optional<Failure> viaProblem;
  Via scratch;              // later Vias are validated in place, then dropped
  NameAddr scratchAddress;  // likewise Route, Record-Route and Path values
  for (const auto& h : m.headers_) {
    if (h.id != HeaderId::Via) continue;
    forEachListItem(h.value, [&](std::string_view item) {
      if (item.empty()) {
        viaProblem = Failure{ParseErrorCode::BadHeader,
                             headerProblem(HeaderId::Via, "empty list element"), 400};
        return false;
      }
      Via& into = first ? m.topVia_ : scratch;
      if (const char* problem = parseViaInto(item, into)) {
        // A top Via whose parameters are malformed (RFC 4475 §3.1.2.1) still names where the
        // sender listens; route the 400 there using the sent-protocol and sent-by alone.
        if (first && parseViaInto(item.substr(0, item.find(';')), m.topVia_) != nullptr)
          m.topVia_ = Via{};
        viaProblem = Failure{ParseErrorCode::BadHeader, headerProblem(HeaderId::Via, problem), 400};
        return false;
      }
      first = false;
      return !response;
    });
    if (viaProblem || (response && !first)) break;
  }
  respondable = m.isRequest() && !m.topVia_.text.empty();
  if (viaProblem) return viaProblem;

  for (HeaderId id : {HeaderId::ContentLength, HeaderId::CallId, HeaderId::CSeq, HeaderId::From,
                      HeaderId::To, HeaderId::MaxForwards, HeaderId::ContentType, HeaderId::Expires,
                      HeaderId::MinExpires, HeaderId::Date}) {
    if (count(id) > 1) {
      auto code = id == HeaderId::ContentLength ? ParseErrorCode::BadContentLength
                                                : ParseErrorCode::DuplicateHeader;
      std::string what = "more than one ";
      what += canonicalName(id);
      what += " header";
      return Failure{code, what, 400};
    }
  }
  for (HeaderId id : {HeaderId::From, HeaderId::To, HeaderId::CallId, HeaderId::CSeq}) {
    if (count(id) == 0) {
      std::string what = "missing ";
      what += canonicalName(id);
      what += " header";
      return Failure{ParseErrorCode::MissingHeader, what, 400};
    }
  }
  if (m.isRequest() && !isSipVersion(m.version_)) {
    return Failure{ParseErrorCode::BadStartLine, "malformed request line", 400};
  }
  // RFC 3261 §8.2.2 / §16.3: only SIP/2.0 is understood; requests get 505 (RFC 4475 §3.1.2.16).
  if (!iequals(m.version_, "SIP/2.0")) {
    return Failure{ParseErrorCode::BadVersion, "SIP version not supported",
                   static_cast<std::uint16_t>(m.isRequest() ? 505 : 0)};
  }

  if (m.isRequest()) {
    if (const char* problem = parseUriInto(m.requestUriText_, m.requestUri_)) {
      m.requestUri_ = Uri{};
      return Failure{ParseErrorCode::BadRequestUri,
                     std::string("bad Request-URI (") + problem + ")", 400};
    }
    // The headers component is not allowed in a Request-URI (RFC 3261 §19.1.1 table,
    // RFC 4475 §3.1.2.11); acting on an embedded Route would be unsafe.
    if (m.requestUri_.isSip() && !m.requestUri_.headers.empty())
      return Failure{ParseErrorCode::BadRequestUri, "Request-URI must not carry headers", 400};
  }

  for (const auto& h : m.headers_) {
    switch (h.id) {
      case HeaderId::CSeq: {
        auto cseq = parseCSeq(h.value);
        if (!cseq)
          return Failure{ParseErrorCode::BadHeader, headerProblem(h.id, cseq.error().detail), 400};
        m.cseq_ = *cseq;
        break;
      }
      case HeaderId::CallId: {
        // callid = word [ "@" word ] (RFC 3261 §25.1)
        std::string_view v = h.value;
        bool ok = !v.empty();
        for (std::size_t k = 0; ok && k < v.size(); ++k) ok = is(v[k], kCallIdChar);
        if (!ok) return Failure{ParseErrorCode::BadHeader, headerProblem(h.id, "not a word"), 400};
        m.callId_ = v;
        break;
      }
      case HeaderId::From:
      case HeaderId::To: {
        NameAddr& into = h.id == HeaderId::From ? m.from_ : m.to_;
        if (const char* problem =
                parseNameAddrInto(h.value, into, [](const Param&) { return true; }))
          return Failure{ParseErrorCode::BadHeader, headerProblem(h.id, problem), 400};
        break;
      }
      case HeaderId::MaxForwards: {
        auto v = parseUnsigned(h.value, 255);
        if (!v)
          return Failure{ParseErrorCode::BadHeader,
                         headerProblem(h.id, "not a number from 0 to 255"), 400};
        m.maxForwards_ = *v;
        break;
      }
      case HeaderId::Expires:
      case HeaderId::MinExpires: {
        if (!parseUnsigned(h.value, 0xffffffffu))
          return Failure{ParseErrorCode::BadHeader,
                         headerProblem(h.id, "not a number of seconds below 2**32"), 400};
        break;
      }
      case HeaderId::Date:
        if (!isValidSipDate(h.value))
          return Failure{ParseErrorCode::BadHeader,
                         headerProblem(h.id, "not an RFC 1123 date in GMT"), 400};
        break;
      case HeaderId::Contact:
      case HeaderId::Route:
      case HeaderId::RecordRoute:
      case HeaderId::Path: {
        if (response) break;  // relayed as they are (above)
        std::optional<Failure> problem;
        forEachListItem(h.value, [&](std::string_view item) {
          if (item.empty()) {
            problem =
                Failure{ParseErrorCode::BadHeader, headerProblem(h.id, "empty list element"), 400};
            return false;
          }
          if (h.id == HeaderId::Contact) {
            auto c = parseContact(item);
            if (!c)
              problem =
                  Failure{ParseErrorCode::BadHeader, headerProblem(h.id, c.error().detail), 400};
          } else {
            if (const char* bad =
                    parseNameAddrInto(item, scratchAddress, [](const Param&) { return true; }))
              problem = Failure{ParseErrorCode::BadHeader, headerProblem(h.id, bad), 400};
          }
          return !problem;
        });
        if (problem) return problem;
        break;
      }
      default:
        break;
    }
  }

  if (m.isRequest()) {
    if (m.cseq_.methodText != m.methodText_) {
      // An unknown method gets 501 rather than 400 (RFC 4475 §3.1.2.18).
      std::uint16_t status = m.method_ == Method::Extension ? 501 : 400;
      return Failure{ParseErrorCode::MethodMismatch,
                     "CSeq method does not match the request method", status};
    }
  } else {
    m.method_ = m.cseq_.method;
    m.methodText_ = m.cseq_.methodText;
  }
  return std::nullopt;
}

Result<Message, ParseError> MessageParser::parse(std::string_view bytes, const ParseLimits& limits,
                                                 Framing framing, bool lenient) {
  if (bytes.size() > limits.maxMessageSize)
    return fail(ParseErrorCode::TooLarge, "message too large", 0);
  // §7.5: CRLFs before the start line are ignored (and are keep-alive noise on UDP).
  std::size_t skip = 0;
  while (skip < bytes.size() && (bytes[skip] == '\r' || bytes[skip] == '\n')) ++skip;
  bytes.remove_prefix(skip);
  if (bytes.empty()) return fail(ParseErrorCode::Empty, "no message", 0);

  Message m;
  m.bufferSize_ = bytes.size();
  m.arenaCapacity_ = Message::kEditHeadroom;
  m.buffer_ = std::make_unique_for_overwrite<char[]>(bytes.size() + Message::kEditHeadroom);
  std::memcpy(m.buffer_.get(), bytes.data(), bytes.size());
  const std::string_view text(m.buffer_.get(), bytes.size());
  const std::size_t n = text.size();

  // Start line.
  const void* firstNl = std::memchr(text.data(), '\n', n);
  if (firstNl == nullptr) return fail(ParseErrorCode::Truncated, "no end of the start line", 0);
  const std::size_t eol = static_cast<std::size_t>(static_cast<const char*>(firstNl) - text.data());
  std::string_view startLine = text.substr(0, eol);
  if (!startLine.empty() && startLine.back() == '\r') startLine.remove_suffix(1);
  std::optional<Failure> startProblem = parseStartLine(m, startLine);
  if (startProblem && startProblem->status == 0) {
    return fail(startProblem->code, std::move(startProblem->detail), 0);
  }

  // Header lines, in one pass that also finds the empty line ending them. A line starting with
  // SP/HTAB continues the previous one (§7.3.1 folding). The name is hashed while it is scanned.
  m.headers_.reserve(32);
  std::size_t pos = eol + 1;
  std::size_t bodyStart = std::string_view::npos;
  while (pos < n) {
    const char first = text[pos];
    if (first == '\n') {
      bodyStart = pos + 1;
      break;
    }
    if (first == '\r' && pos + 1 < n && text[pos + 1] == '\n') {
      bodyStart = pos + 2;
      break;
    }
    if (first == ' ' || first == '\t') {
      return fail(ParseErrorCode::BadHeader, "header block starts with white space", 400);
    }
    std::size_t i = pos;
    while (i < n && isTokenChar(text[i])) ++i;
    const std::string_view name = text.substr(pos, i - pos);
    while (i < n && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (name.empty() || i >= n || text[i] != ':') {
      return fail(ParseErrorCode::BadHeader, "header line without a name and colon", 400);
    }
    const std::size_t valueStart = i + 1;
    std::size_t end = valueStart;
    while (true) {
      const void* nl = std::memchr(text.data() + end, '\n', n - end);
      if (nl == nullptr)
        return fail(ParseErrorCode::Truncated, "no empty line after the headers", 0);
      end = static_cast<std::size_t>(static_cast<const char*>(nl) - text.data()) + 1;
      if (end >= n || (text[end] != ' ' && text[end] != '\t')) break;
    }
    if (end - pos > limits.maxHeaderLength) {
      return fail(ParseErrorCode::HeaderTooLong, "header line longer than the limit", 400);
    }
    if (m.headers_.size() >= limits.maxHeaders) {
      return fail(ParseErrorCode::TooManyHeaders, "too many header lines", 0);
    }
    HeaderField& f = m.headers_.emplace_back();
    f.raw = text.substr(pos, end - pos);
    f.name = name;
    f.id = headerIdFromKey(HeaderNameKey::of(name));
    f.value = trimLws(text.substr(valueStart, end - valueStart));
    pos = end;
  }
  if (bodyStart == std::string_view::npos) {
    // A datagram is the whole message: tolerate a missing empty line when the last header line is
    // complete (the RFC 4475 archive's baddn.dat lacks it), so that the real problem is reported.
    if (framing != Framing::Datagram)
      return fail(ParseErrorCode::Truncated, "no empty line after the headers", 0);
    bodyStart = n;
  }

  bool respondable = false;
  std::optional<Failure> problem = startProblem;
  if (!problem)
    problem = validate(m, respondable);
  else
    validate(m, respondable);  // only to learn whether a 400 can be routed back

  // Body framing (§18.3). Content-Length is validated here because it decides where the message
  // ends.
  std::optional<Failure> bodyProblem;
  const HeaderField* cl = m.find(HeaderId::ContentLength);
  std::size_t available = text.size() - bodyStart;
  if (cl != nullptr) {
    std::uint64_t n = 0;
    if (!parseDecimal(cl->value, limits.maxMessageSize, n)) {
      bodyProblem = Failure{ParseErrorCode::BadContentLength,
                            "Content-Length is not a non-negative number within limits", 400};
    } else if (n > available || (framing == Framing::Exact && n != available)) {
      bodyProblem =
          Failure{ParseErrorCode::Truncated, "Content-Length larger than the message", 400};
    } else {
      m.body_ = text.substr(bodyStart, n);
    }
  } else if (framing == Framing::Exact) {
    bodyProblem =
        Failure{ParseErrorCode::BadContentLength, "missing Content-Length on a stream", 400};
  } else {
    // No Content-Length on UDP: the body is the rest of the datagram (§18.3, RFC 4475 §3.4.1).
    // Record one so the message can be forwarded over a stream unchanged.
    m.body_ = text.substr(bodyStart);
  }
  if (!problem && bodyProblem) problem = bodyProblem;
  if (problem && !lenient) {
    ParseError err{problem->code, std::move(problem->detail),
                   m.isRequest() ? problem->status : std::uint16_t{0}, std::nullopt};
    if (respondable && err.status != 0) err.partial.emplace(std::move(m));
    return tl::unexpected(std::move(err));
  }
  if (cl == nullptr && !bodyProblem) {
    char digits[24];
    int len = std::snprintf(digits, sizeof digits, "%zu", m.body_.size());
    m.addHeader("Content-Length", std::string_view(digits, static_cast<std::size_t>(len)));
  }
  return m;
}

Result<Message, ParseError> parseDatagram(std::string_view datagram, const ParseLimits& limits) {
  return MessageParser::parse(datagram, limits, MessageParser::Framing::Datagram);
}

Result<Message, ParseError> parseOwnText(std::string text) {
  ParseLimits generous{
      .maxMessageSize = text.size() + 1, .maxHeaders = 1024, .maxHeaderLength = text.size() + 1};
  return MessageParser::parse(text, generous, MessageParser::Framing::Datagram);
}

// ---------------------------------------------------------------------------- StreamFramer

bool StreamFramer::append(std::string_view bytes) {
  if (consumed_ > 0 && consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  }
  if (buffered() + bytes.size() > limits_.maxMessageSize + limits_.maxHeaderLength) return false;
  if (consumed_ > 4096 && consumed_ > buffer_.size() / 2) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
  return true;
}

StreamEvent StreamFramer::next() {
  if (fatal_) return NeedMoreData{};
  std::string_view view(buffer_);
  view.remove_prefix(consumed_);
  // RFC 5626 §3.5.1: CRLFCRLF is a ping, a lone CRLF a pong. §7.5 lets CRLFs precede a message.
  if (view.size() >= 4 && view.substr(0, 4) == "\r\n\r\n") {
    consumed_ += 4;
    return KeepAlivePing{};
  }
  if (view.size() >= 2 && view.substr(0, 2) == "\r\n" && (view.size() == 2 || view[2] != '\r')) {
    consumed_ += 2;
    return KeepAlivePong{};
  }
  if (view.empty() || view == "\r" || view == "\r\n\r") return NeedMoreData{};

  std::size_t headerEnd = 0;
  std::size_t bodyStart = findBodyStart(view, headerEnd);
  if (bodyStart == std::string_view::npos) {
    if (view.size() > limits_.maxMessageSize) {
      fatal_ = true;
      return ParseError{ParseErrorCode::TooLarge, "header block too large", 0, std::nullopt};
    }
    return NeedMoreData{};
  }
  // Find Content-Length (or "l") in the header block without a full parse.
  std::optional<std::uint64_t> length;
  bool badLength = false;
  std::size_t pos = view.find('\n') + 1;
  while (pos < headerEnd) {
    std::size_t nl = view.find('\n', pos);
    std::string_view line = view.substr(pos, nl - pos);
    pos = nl + 1;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = trimLws(line.substr(0, colon));
    if (headerIdFromName(name) != HeaderId::ContentLength) continue;
    std::uint64_t n = 0;
    if (length.has_value() ||
        !parseDecimal(trimLws(line.substr(colon + 1)), limits_.maxMessageSize, n)) {
      badLength = true;
    }
    length = n;
  }
  if (badLength || !length) {
    // Framing is lost (RFC 3261 §18.3, RFC 4475 §3.1.2.3, §3.3.9): parse the header block so a
    // request can still be answered, then the connection must be closed.
    fatal_ = true;
    auto parsed =
        MessageParser::parse(view.substr(0, bodyStart), limits_, MessageParser::Framing::Exact);
    consumed_ = buffer_.size();
    ParseError err = parsed ? ParseError{} : std::move(parsed.error());
    err.code = ParseErrorCode::BadContentLength;
    err.detail = badLength ? "Content-Length is repeated, negative or not a number"
                           : "missing Content-Length on a stream";
    if (!err.partial) err.status = 0;
    return err;
  }
  if (bodyStart + *length > limits_.maxMessageSize) {
    fatal_ = true;
    consumed_ = buffer_.size();
    return ParseError{ParseErrorCode::TooLarge, "message too large", 0, std::nullopt};
  }
  if (view.size() < bodyStart + *length) return NeedMoreData{};
  std::string_view whole = view.substr(0, bodyStart + *length);
  consumed_ += whole.size();
  auto parsed = MessageParser::parse(whole, limits_, MessageParser::Framing::Exact);
  if (!parsed) return std::move(parsed.error());
  return std::move(*parsed);
}

// ---------------------------------------------------------------------------- responses

std::string_view defaultReason(std::uint16_t status) {
  switch (status) {
    case 100:
      return "Trying";
    case 180:
      return "Ringing";
    case 181:
      return "Call Is Being Forwarded";
    case 182:
      return "Queued";
    case 183:
      return "Session Progress";
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 300:
      return "Multiple Choices";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Moved Temporarily";
    case 305:
      return "Use Proxy";
    case 380:
      return "Alternative Service";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Timeout";
    case 410:
      return "Gone";
    case 413:
      return "Request Entity Too Large";
    case 414:
      return "Request-URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Unsupported URI Scheme";
    case 420:
      return "Bad Extension";
    case 421:
      return "Extension Required";
    case 423:
      return "Interval Too Brief";
    case 430:
      return "Flow Failed";
    case 439:
      return "First Hop Lacks Outbound Support";
    case 480:
      return "Temporarily Unavailable";
    case 481:
      return "Call/Transaction Does Not Exist";
    case 482:
      return "Loop Detected";
    case 483:
      return "Too Many Hops";
    case 484:
      return "Address Incomplete";
    case 485:
      return "Ambiguous";
    case 486:
      return "Busy Here";
    case 487:
      return "Request Terminated";
    case 488:
      return "Not Acceptable Here";
    case 489:
      return "Bad Event";
    case 491:
      return "Request Pending";
    case 493:
      return "Undecipherable";
    case 500:
      return "Server Internal Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Server Time-out";
    case 505:
      return "Version Not Supported";
    case 513:
      return "Message Too Large";
    case 600:
      return "Busy Everywhere";
    case 603:
      return "Decline";
    case 604:
      return "Does Not Exist Anywhere";
    case 606:
      return "Not Acceptable";
    default:
      return "Unknown";
  }
}

std::string makeResponseText(const Message& request, std::uint16_t status, std::string_view reason,
                             std::string_view toTag) {
  // RFC 3261 §8.2.6.2: copy From, Call-ID, CSeq and all Vias in order; To gets a tag if it has
  // none. §8.2.6.1: a 100 copies Timestamp. Values are copied as received, so this also works on a
  // ParseError's partial message whose other headers may be malformed.
  if (reason.empty()) reason = defaultReason(status);
  std::string text;
  text.reserve(256 + request.topVia().text.size() * 2);
  text += "SIP/2.0 ";
  text += std::to_string(status);
  text += ' ';
  for (char c : reason) {
    // Reason-Phrase excludes controls, quotes and angle brackets (§25.1); keep only safe text.
    auto u = static_cast<unsigned char>(c);
    text += (u < 0x20 || u == 0x7f || c == '"' || c == '<' || c == '>') ? ' ' : c;
  }
  text += "\r\n";
  for (const auto& h : request.headers()) {
    bool copy = h.id == HeaderId::Via || h.id == HeaderId::From || h.id == HeaderId::CallId ||
                h.id == HeaderId::CSeq || (status == 100 && h.id == HeaderId::Timestamp);
    if (copy) {
      text += canonicalName(h.id);
      text += ": ";
      text += h.value;
      text += "\r\n";
    } else if (h.id == HeaderId::To) {
      text += "To: ";
      text += h.value;
      if (!toTag.empty() && !request.to().tag() && status > 100) {
        text += ";tag=";
        text += toTag;
      }
      text += "\r\n";
    }
  }
  text += "Content-Length: 0\r\n\r\n";
  return text;
}

Message makeResponse(const Message& request, std::uint16_t status, std::string_view reason,
                     std::string_view toTag) {
  std::string text = makeResponseText(request, status, reason, toTag);
  // Lenient: a partial request's malformed values are echoed as they came (RFC 4475 §3.1.2.4
  // still wants a 400 for an overlarge CSeq). The text is complete, so this cannot fail.
  ParseLimits generous{
      .maxMessageSize = text.size() + 1, .maxHeaders = 4096, .maxHeaderLength = text.size() + 1};
  auto parsed =
      MessageParser::parse(text, generous, MessageParser::Framing::Datagram, /*lenient=*/true);
  return std::move(*parsed);
}

}  // namespace p2psip::sip
