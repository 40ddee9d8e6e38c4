// SPDX-License-Identifier: Apache-2.0
// One media description of an SDP body (RFC 8866 §5.14): an m= line and the lines up to the
// next m= line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "p2psip/common/result.h"
#include "p2psip/sdp/attributes.h"
#include "p2psip/sdp/fields.h"

namespace p2psip::sdp {

class SessionDescription;

// A read-only view of media section `index()` of a SessionDescription. Cheap to copy. It and every
// string_view it returns are valid until the SessionDescription is edited, moved or destroyed.
// Lookups that fall back to the session level (connection, direction, ICE credentials) say so.
// Not thread-safe, like the SessionDescription it views.
class MediaDescription {
 public:
  std::size_t index() const { return index_; }

  // The m= line (validated by parse()).
  const MediaField& field() const { return field_; }
  std::string_view media() const { return field_.media; }
  std::uint16_t port() const { return field_.port; }
  std::optional<std::uint32_t> numberOfPorts() const { return field_.numberOfPorts; }
  std::string_view proto() const { return field_.proto; }
  const std::vector<std::string_view>& formats() const { return field_.formats; }
  // RFC 3264 §6: an answerer rejects a stream by setting its port to zero.
  bool isRejected() const { return field_.port == 0; }

  // The first media-level c= line, if any.
  std::optional<Connection> connection() const;
  // Media-level c= if present, else the session-level one (RFC 8866 §5.7). std::nullopt when
  // neither exists, which parse() tolerates (see README).
  std::optional<Connection> effectiveConnection() const;

  // Media-level attributes only, in line order.
  std::optional<Attribute> attribute(std::string_view name) const;  // the first one
  std::vector<Attribute> attributes(std::string_view name) const;
  std::vector<Attribute> attributes() const;
  bool hasAttribute(std::string_view name) const;

  // Every a=rtpmap of this section; the first malformed one is reported as an error.
  Result<std::vector<Rtpmap>> rtpmaps() const;
  // The rtpmap for one payload type, std::nullopt if absent or malformed.
  std::optional<Rtpmap> rtpmap(std::uint8_t payloadType) const;
  // a=rtcp (RFC 3605); std::nullopt when absent, an error when malformed.
  Result<std::optional<Rtcp>> rtcp() const;
  // a=rtcp-mux (RFC 5761 §5.1.1): RTCP shares the RTP port.
  bool rtcpMux() const { return hasAttribute("rtcp-mux"); }

  // Media-level direction attribute, else session-level, else sendrecv (RFC 8866 §6.7).
  Direction direction() const;

  // ICE (RFC 8839 §5.4, §5.6): media-level values override session-level ones.
  std::optional<std::string_view> iceUfrag() const;
  std::optional<std::string_view> icePwd() const;
  std::vector<std::string_view> iceOptions() const;  // the space-separated option tags
  // Every a=candidate of this section; the first malformed one is reported as an error.
  Result<std::vector<Candidate>> candidates() const;

 private:
  friend class SessionDescription;
  MediaDescription(const SessionDescription& session, std::size_t index, MediaField field)
      : session_(&session), index_(index), field_(std::move(field)) {}

  std::optional<Attribute> effectiveAttribute(std::string_view name) const;

  const SessionDescription* session_;
  std::size_t index_;
  MediaField field_;
};

}  // namespace p2psip::sdp
