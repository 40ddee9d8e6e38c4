// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the SIP message parser. Properties checked on every input:
//  - parsing never crashes, hangs or leaks (ASan/UBSan);
//  - a message that parses serializes to text that parses again to the same bytes;
//  - the proxy edit path (pop Route, push Via, Record-Route, Max-Forwards, received/rport) yields
//    a message that parses again;
//  - a request rejected as answerable yields a response that parses;
//  - the stream framer, fed the same bytes in two chunks, never crashes and never buffers more
//    than its limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "p2psip/sip/parser.h"

using namespace p2psip::sip;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void exerciseAccessors(const Message& m) {
  (void)m.values(HeaderId::Contact);
  for (auto v : m.values(HeaderId::Contact)) (void)parseContact(v);
  for (auto v : m.values(HeaderId::Via)) (void)parseVia(v);
  if (const HeaderField* h = m.find(HeaderId::Authorization)) {
    if (auto a = parseAuthParams(h->value)) (void)a->find("nonce");
  }
  (void)equivalent(m.from().uri, m.to().uri);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parsed = parseDatagram(input);
  if (parsed) {
    Message& m = *parsed;
    exerciseAccessors(m);
    std::string once = m.serialize();
    auto again = parseDatagram(once);
    check(again.has_value());
    check(again->serialize() == once);
    // clone() moves views onto its own copy of the bytes; it must give the same message.
    check(m.clone().serialize() == once);

    m.popRoute();
    m.pushVia("SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bKfuzz");
    m.pushRecordRoute("<sip:198.18.0.1;lr>");
    m.decrementMaxForwards();
    if (m.isRequest()) m.stampReceived("198.18.9.9", 4242);
    auto edited = parseDatagram(
        m.serialize(),
        ParseLimits{.maxMessageSize = 1 << 20, .maxHeaders = 4096, .maxHeaderLength = 1 << 20});
    check(edited.has_value());
    check(edited->topVia().branch() == std::optional<std::string_view>("z9hG4bKfuzz"));
    if (m.isRequest()) {
      Message resp = makeResponse(m, 486, {}, "fuzztag");
      check(parseDatagram(resp.serialize()).has_value());
    }
    // A clone of the edited message stands alone: its original is freed before it is read.
    const std::string editedText = m.serialize();
    Message copy = m.clone();
    { Message gone = std::move(m); }
    exerciseAccessors(copy);
    check(copy.serialize() == editedText);
  } else if (parsed.error().canRespond()) {
    Message resp =
        makeResponse(*parsed.error().partial, parsed.error().status, parsed.error().detail);
    check(resp.statusCode() == parsed.error().status);
  }

  StreamFramer framer(
      ParseLimits{.maxMessageSize = 8192, .maxHeaders = 64, .maxHeaderLength = 2048});
  std::size_t half = size / 2;
  for (std::string_view chunk : {input.substr(0, half), input.substr(half)}) {
    if (!framer.append(chunk)) break;
    for (int i = 0; i < 64; ++i) {
      StreamEvent e = framer.next();
      if (std::holds_alternative<NeedMoreData>(e)) break;
      if (auto* msg = std::get_if<Message>(&e)) (void)msg->serialize();
    }
    check(framer.buffered() <= 8192 + 2048);
    if (framer.fatal()) break;
  }
  return 0;
}
