// SPDX-License-Identifier: Apache-2.0
// Parsing SIP messages from datagrams (one message per datagram, RFC 3261 §18.3) and from
// streams (framed by Content-Length). Violations come back as a ParseError value naming the
// problem; parsing never throws. RFC 4475 and RFC 5118 are the conformance corpus.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "p2psip/common/result.h"
#include "p2psip/sip/message.h"

namespace p2psip::sip {

// Limits that protect the process. Every field is checked before work proportional to it.
struct ParseLimits {
  std::size_t maxMessageSize = 64 * 1024;  // whole message, headers plus body
  std::size_t maxHeaders = 256;            // header lines (after unfolding)
  std::size_t maxHeaderLength = 8 * 1024;  // one header line including folds
};

enum class ParseErrorCode : std::uint8_t {
  Empty,             // only CRLFs / whitespace (keep-alive noise): drop silently
  TooLarge,          // maxMessageSize exceeded
  TooManyHeaders,    // maxHeaders exceeded
  HeaderTooLong,     // maxHeaderLength exceeded
  Truncated,         // no end of headers, or body shorter than Content-Length
  BadStartLine,      // request or status line malformed
  BadVersion,        // SIP version other than 2.0
  BadStatusCode,     // response code not 100..699
  BadRequestUri,     // Request-URI unparsable or carrying headers
  BadHeader,         // a header's value does not match its grammar
  MissingHeader,     // Via, From, To, Call-ID or CSeq absent
  DuplicateHeader,   // a single-valued header repeated
  BadContentLength,  // negative, non-numeric or conflicting Content-Length
  MethodMismatch,    // CSeq method differs from the request method
};

const char* toString(ParseErrorCode code);

struct ParseError {
  ParseErrorCode code = ParseErrorCode::BadStartLine;
  // One short phrase naming the problem, e.g. "bad CSeq: sequence number above 2**31-1".
  // ASCII without CR/LF, so a server may use it as the reason phrase of its 400.
  std::string detail;
  // The response a server should send, or 0 when it must not answer (responses, garbage, noise).
  std::uint16_t status = 400;
  // For requests whose Via, From, To, Call-ID and CSeq could be read: the message as parsed, so
  // that a server can build that response with makeResponse(). Its typed accessors are usable.
  std::optional<Message> partial;

  bool canRespond() const { return status != 0 && partial.has_value(); }
};

// Parses exactly one message from a datagram. Content-Length bounds the message and trailing
// octets are ignored (RFC 4475 §3.1.1.8); without Content-Length the body runs to the end.
Result<Message, ParseError> parseDatagram(std::string_view datagram,
                                          const ParseLimits& limits = {});

// What a StreamFramer produced.
struct NeedMoreData {};
struct KeepAlivePing {};  // CRLFCRLF: answer with a CRLF pong (RFC 5626 §3.5.1)
struct KeepAlivePong {};  // a lone CRLF
using StreamEvent = std::variant<NeedMoreData, KeepAlivePing, KeepAlivePong, Message, ParseError>;

// Frames messages on a byte stream (TCP/TLS) by Content-Length, which is mandatory there
// (RFC 3261 §18.3). After a ParseError whose framing is lost (bad or missing Content-Length,
// oversize), fatal() is true and the connection must be closed; other errors leave the stream
// usable.
class StreamFramer {
 public:
  explicit StreamFramer(ParseLimits limits = {}) : limits_(limits) {}
  // Appends received bytes. Returns false (and keeps nothing) if the buffered bytes would exceed
  // the message limit plus the headroom of one header block: the peer is flooding us.
  bool append(std::string_view bytes);
  StreamEvent next();
  bool fatal() const { return fatal_; }
  std::size_t buffered() const { return buffer_.size() - consumed_; }
  // The bytes not yet framed, and a way to take some of them: for a stream that interleaves
  // another framing with SIP at message boundaries (a transport's peer-link frames). The view is
  // valid until the next append().
  std::string_view pending() const { return std::string_view(buffer_).substr(consumed_); }
  void consume(std::size_t n) { consumed_ += n < buffered() ? n : buffered(); }

 private:
  ParseLimits limits_;
  std::string buffer_;
  std::size_t consumed_ = 0;
  bool fatal_ = false;
};

// Builds a response to `request` per RFC 3261 §8.2.6: copies Via (all), From, To, Call-ID and
// CSeq; adds a To tag when `toTag` is given and To has none. Content-Length: 0.
Message makeResponse(const Message& request, std::uint16_t status, std::string_view reason = {},
                     std::string_view toTag = {});
// The same response as text, ready to send: for responses nothing edits afterwards (a server
// transaction's 100 Trying), which then skip a parse and a serialization.
std::string makeResponseText(const Message& request, std::uint16_t status,
                             std::string_view reason = {}, std::string_view toTag = {});
// The default reason phrase for a status code (RFC 3261 §21), or "Unknown".
std::string_view defaultReason(std::uint16_t status);

// Builds a message from complete text produced by the stack itself. Returns the parse error for
// text that does not parse, which indicates a bug in the caller.
Result<Message, ParseError> parseOwnText(std::string text);

}  // namespace p2psip::sip
