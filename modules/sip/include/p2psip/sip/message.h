// SPDX-License-Identifier: Apache-2.0
// sip::Message: one SIP request or response (RFC 3261 §7) over an owned buffer.
//
// Parsing (parser.h) is zero-copy: every header is a HeaderField of views into the buffer. The
// headers a transaction layer and proxy rely on (Via, From, To, Call-ID, CSeq, Max-Forwards,
// Content-Length, Contact, Route, Record-Route) are validated up front, so the typed accessors
// below never fail on a parsed message. In a response only the top Via is among them: the Vias
// under it, Contact and Record-Route are relayed upstream as they are (parser.cpp).
//
// Edits (push/pop Via, pop Route, push Record-Route, Max-Forwards, bodies) store new text in an
// arena owned by the message and touch only the edited lines: serialize() copies every untouched
// header line byte-exact from the received buffer.
//
// A Message is a value: movable, not implicitly copyable (use clone()). Views it hands out stay
// valid until the message is destroyed, including across moves. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "p2psip/common/result.h"
#include "p2psip/sip/header_id.h"
#include "p2psip/sip/headers.h"
#include "p2psip/sip/method.h"
#include "p2psip/sip/name_addr.h"
#include "p2psip/sip/uri.h"
#include "p2psip/sip/via.h"

namespace p2psip::sip {

struct HeaderField {
  HeaderId id = HeaderId::Unknown;
  std::string_view name;   // as written ("v", "ViA", "X-Foo")
  std::string_view value;  // trimmed; a folded value keeps its CRLF+WSP, which parsers treat as LWS
  std::string_view raw;  // the original line(s) with CRLF; empty once the field was edited or added
};

class Message {
 public:
  Message(Message&&) noexcept;
  Message& operator=(Message&&) noexcept;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;
  ~Message();

  // Deep copy, e.g. for each branch of a fork: the bytes are copied once and every view is moved
  // onto the copy (no parsing).
  Message clone() const;

  // ---- start line
  bool isRequest() const { return statusCode_ == 0; }
  bool isResponse() const { return statusCode_ != 0; }
  // Requests: the request method. Responses: the method of the CSeq.
  Method method() const { return method_; }
  std::string_view methodText() const { return methodText_; }
  const Uri& requestUri() const { return requestUri_; }  // requests only
  std::uint16_t statusCode() const { return statusCode_; }
  std::string_view reasonPhrase() const { return reason_; }

  // ---- headers
  const std::vector<HeaderField>& headers() const { return headers_; }
  const HeaderField* find(HeaderId id) const;
  // Any header by name, case-insensitive, compact forms understood ("X-Foo", "l",
  // "Content-Length").
  const HeaderField* find(std::string_view name) const;
  std::size_t count(HeaderId id) const;
  // Calls f(std::string_view) for each comma-separated value of header `id`, across all its lines
  // and in order; commas inside quotes and angle brackets do not split. f returns false to stop.
  template <typename F>
  void forEachValue(HeaderId id, F&& f) const {
    for (const auto& h : headers_) {
      if (h.id != id) continue;
      std::string_view rest = h.value;
      std::string_view item;
      while (nextListItem(rest, item)) {
        if (!f(item)) return;
      }
    }
  }
  std::vector<std::string_view> values(HeaderId id) const;
  // Splits a header value list; returns false at the end. Public for reuse by other modules.
  static bool nextListItem(std::string_view& rest, std::string_view& item);

  // ---- headers validated at parse time
  const Via& topVia() const {
    if (topViaStale_) refreshTopVia();
    return topVia_;
  }
  std::string_view callId() const { return callId_; }
  const CSeq& cseq() const { return cseq_; }
  const NameAddr& from() const { return from_; }
  const NameAddr& to() const { return to_; }
  std::optional<std::uint32_t> maxForwards() const { return maxForwards_; }
  std::string_view body() const { return body_; }
  // The transaction id of RFC 3261 §17.1.3: the top Via branch, if any.
  std::optional<std::string_view> branch() const { return topVia().branch(); }

  // ---- edits (RFC 3261 §16.6, §16.7). Strings are copied; callers need not keep them alive.
  // Inserts a Via above all others. Returns false (and changes nothing) if it does not parse.
  bool pushVia(std::string_view value);
  // The same for a Via prepared once (via.h): no parsing. False if `branch` is not a token.
  bool pushVia(const PreparedVia& via, std::string_view branch);
  // Removes the top Via value (only the first item of a comma-separated line). False if none left.
  bool popVia();
  // Removes the first Route value. False if there is none.
  bool popRoute();
  // Inserts a Record-Route value above the existing ones. False if it does not parse.
  bool pushRecordRoute(std::string_view value);
  void pushRecordRoute(const CheckedNameAddr& value);
  // Decrements Max-Forwards, adding "Max-Forwards: 69" if absent (§16.6 step 3). False at zero.
  bool decrementMaxForwards();
  // Appends a header after the last one of the same kind (or at the end).
  void addHeader(std::string_view name, std::string_view value);
  // Replaces every line of `id` with one line carrying `value` (adds it if absent).
  void setHeader(HeaderId id, std::string_view value);
  std::size_t removeHeaders(HeaderId id);
  // Request-URI (requests only). False if it does not parse.
  bool setRequestUri(std::string_view uri);
  // Adds ";tag=" to the To header (a UAS or a proxy answering locally, §8.2.6.2).
  void setToTag(std::string_view tag);
  // Replaces the body; Content-Length follows, and Content-Type is set when given.
  void setBody(std::string_view body, std::string_view contentType = {});
  // RFC 3261 §18.2.1 / RFC 3581 §4: adds received= and fills rport= on the top Via.
  void stampReceived(std::string_view sourceAddress, std::uint16_t sourcePort);

  // ---- output
  std::size_t serializedSize() const;
  void serializeTo(std::string& out) const;  // appends
  std::string serialize() const;

 private:
  friend class MessageParser;
  // Arena room after the received bytes: a proxy's Via, Record-Route and Max-Forwards fit.
  static constexpr std::size_t kEditHeadroom = 512;
  // An arena chunk that filled up; `used` bytes of it hold text that views may point into.
  struct Chunk {
    std::unique_ptr<char[]> bytes;
    std::size_t used = 0;
  };

  Message();
  // Reserves n bytes of arena; earlier views stay valid.
  char* allocate(std::size_t n);
  std::string_view store(std::string_view text);
  std::string_view storeParts(std::initializer_list<std::string_view> parts);
  void insertField(std::size_t pos, HeaderId id, std::string_view value);
  std::size_t firstIndex(HeaderId id) const;
  // Parses the top Via again after an edit of the Via lines.
  void refreshTopVia() const;
  void refreshMaxForwards();
  static std::string_view canonicalOrWritten(const HeaderField& h);

  // The received bytes followed by spare room for edits (the arena's first chunk).
  std::unique_ptr<char[]> buffer_;
  std::size_t bufferSize_ = 0;
  std::size_t arenaUsed_ = 0;
  std::size_t arenaCapacity_ = 0;
  std::vector<Chunk> overflow_;  // filled chunks (the received bytes first), rarely any

  std::string_view startLine_;  // without CRLF; rebuilt when the Request-URI is edited
  bool startLineEdited_ = false;
  std::string_view version_;
  Method method_ = Method::Extension;
  std::string_view methodText_;
  std::string_view requestUriText_;
  Uri requestUri_;
  std::uint16_t statusCode_ = 0;
  std::string_view reason_;

  std::vector<HeaderField> headers_;
  // The parsed top Via. popVia only marks it stale: a proxy pops its own Via off every response it
  // relays (§16.7 step 3) and then sends the response to the address its server transaction
  // already holds (§17.2.1, §18.2.2), so the next Via is parsed only when something asks for it.
  mutable Via topVia_;
  mutable bool topViaStale_ = false;
  std::string_view callId_;
  CSeq cseq_;
  NameAddr from_;
  NameAddr to_;
  std::optional<std::uint32_t> maxForwards_;
  std::string_view body_;
};

}  // namespace p2psip::sip
