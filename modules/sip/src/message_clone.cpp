// SPDX-License-Identifier: Apache-2.0
// Message::clone: a proxy copies the request once per branch (RFC 3261 §16.6 step 1), so the copy
// must cost about a memcpy. Every view a Message holds points into its own chunks (the received
// bytes, then arena chunks for edits) or at static text such as canonical header names. The copy
// puts all chunks' used bytes one after another in a single new buffer and moves each view by the
// distance its chunk moved; views into static text stay as they are. Nothing is parsed again.
//
// The earlier clone serialized and re-parsed (a tenth of a proxied call's user CPU even with the
// checks trimmed). The risk of this one is a view that is forgotten here and keeps pointing into
// the original: the size checks below fail to compile when a field is added to a struct that holds
// views, and the tests and the fuzzer compare a clone, after its original is gone, with a parse.
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "p2psip/sip/message.h"

namespace p2psip::sip {
namespace {

// A field added to one of these must be moved in Rebase below (then update the size).
#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(Uri) == 144, "a Uri field was added: rebase it in message_clone.cpp");
static_assert(sizeof(Via) == 200, "a Via field was added: rebase it in message_clone.cpp");
static_assert(sizeof(NameAddr) == 200,
              "a NameAddr field was added: rebase it in message_clone.cpp");
static_assert(sizeof(HeaderField) == 56, "a field was added: rebase it in message_clone.cpp");
static_assert(sizeof(CSeq) == 24, "a CSeq field was added: rebase it in message_clone.cpp");
#endif

class Rebase {
 public:
  void add(const char* from, std::size_t used, char* to) { spans_.push_back({from, used, to}); }

  std::string_view operator()(std::string_view v) const {
    const std::less_equal<const char*> le;
    for (const auto& s : spans_) {
      // Inclusive end: an empty view may sit just past its chunk's last byte. The spans are laid
      // out back to back in the copy, so that position means the same there whichever span
      // claims it.
      if (le(s.from, v.data()) && le(v.data() + v.size(), s.from + s.used)) {
        return {s.to + (v.data() - s.from), v.size()};
      }
    }
    return v;  // static text (canonical names, literals)
  }
  std::optional<std::string_view> operator()(const std::optional<std::string_view>& v) const {
    if (!v) return v;
    return (*this)(*v);
  }
  ParamList operator()(const ParamList& p) const { return ParamList((*this)(p.raw())); }

  void move(Uri& u) const {
    u.text = (*this)(u.text);
    u.schemeText = (*this)(u.schemeText);
    u.user = (*this)(u.user);
    u.password = (*this)(u.password);
    u.host = (*this)(u.host);
    u.params = (*this)(u.params);
    u.headers = (*this)(u.headers);
    u.opaque = (*this)(u.opaque);
  }
  void move(NameAddr& n) const {
    n.text = (*this)(n.text);
    n.displayName = (*this)(n.displayName);
    move(n.uri);
    n.params = (*this)(n.params);
  }
  void move(Via& v) const {
    v.text = (*this)(v.text);
    v.protocolName = (*this)(v.protocolName);
    v.protocolVersion = (*this)(v.protocolVersion);
    v.transport = (*this)(v.transport);
    v.host = (*this)(v.host);
    v.params = (*this)(v.params);
    v.branchParam = (*this)(v.branchParam);
    v.receivedParam = (*this)(v.receivedParam);
    v.rportParam = (*this)(v.rportParam);
    v.maddrParam = (*this)(v.maddrParam);
  }
  void move(HeaderField& h) const {
    h.name = (*this)(h.name);
    h.value = (*this)(h.value);
    h.raw = (*this)(h.raw);
  }

 private:
  struct Span {
    const char* from;
    std::size_t used;
    char* to;
  };
  std::vector<Span> spans_;
};

}  // namespace

Message Message::clone() const {
  std::size_t total = bufferSize_ + arenaUsed_;
  for (const auto& chunk : overflow_) total += chunk.used;

  Message copy;
  copy.buffer_ = std::make_unique_for_overwrite<char[]>(total + kEditHeadroom);
  copy.bufferSize_ = total;
  copy.arenaCapacity_ = kEditHeadroom;
  copy.arenaUsed_ = 0;

  Rebase rebase;
  char* at = copy.buffer_.get();
  auto place = [&](const char* from, std::size_t used) {
    if (used > 0) std::memcpy(at, from, used);
    rebase.add(from, used, at);
    at += used;
  };
  for (const auto& chunk : overflow_) place(chunk.bytes.get(), chunk.used);
  place(buffer_.get(), bufferSize_ + arenaUsed_);

  copy.startLine_ = rebase(startLine_);
  copy.startLineEdited_ = startLineEdited_;
  copy.version_ = rebase(version_);
  copy.method_ = method_;
  copy.methodText_ = rebase(methodText_);
  copy.requestUriText_ = rebase(requestUriText_);
  copy.requestUri_ = requestUri_;
  rebase.move(copy.requestUri_);
  copy.statusCode_ = statusCode_;
  copy.reason_ = rebase(reason_);

  // Room for the lines a proxy adds to its copy (Via, Record-Route, Max-Forwards) without growing.
  copy.headers_.reserve(headers_.size() + 4);
  copy.headers_.assign(headers_.begin(), headers_.end());
  for (auto& h : copy.headers_) rebase.move(h);
  copy.topVia_ = topVia_;
  copy.topViaStale_ = topViaStale_;  // a stale one is parsed again from the copy's own lines
  rebase.move(copy.topVia_);
  copy.callId_ = rebase(callId_);
  copy.cseq_ = cseq_;
  copy.cseq_.methodText = rebase(cseq_.methodText);
  copy.from_ = from_;
  rebase.move(copy.from_);
  copy.to_ = to_;
  rebase.move(copy.to_);
  copy.maxForwards_ = maxForwards_;
  copy.body_ = rebase(body_);
  return copy;
}

// Message's own fields: a new one must be copied (and, if a view, moved) above.
#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(Message) == 1000, "a Message field was added: copy it in Message::clone");
#endif

}  // namespace p2psip::sip
