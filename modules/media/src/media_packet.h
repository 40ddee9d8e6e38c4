// SPDX-License-Identifier: Apache-2.0
// What the relay needs to know about one datagram: RTP or RTCP, its SSRC, and for RTP the
// sequence number and timestamp (RFC 3550 §5.1, §6.4). The checks are those a relay can make
// without the keys of SRTP (RFC 3711): the RTP header and the first RTCP header travel in clear,
// the rest may be encrypted and followed by an authentication tag, so padding and the lengths of
// the later packets of a compound RTCP packet are not checked (RFC 3550 A.1/A.2 would reject
// every SRTCP packet).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "p2psip/common/result.h"

namespace p2psip::media {

enum class PacketKind : std::uint8_t { Rtp, Rtcp };

struct MediaPacket {
  PacketKind kind = PacketKind::Rtp;
  std::uint32_t ssrc = 0;       // RTP: the SSRC; RTCP: the sender SSRC of the first packet
  std::uint16_t sequence = 0;   // RTP only
  std::uint32_t timestamp = 0;  // RTP only
};

// Why a datagram is not relayed. An enum, not an Error: refusing garbage allocates nothing.
enum class PacketDefect : std::uint8_t {
  TooShort,       // under 12 bytes (RTP) or 8 bytes (RTCP)
  BadVersion,     // version field is not 2
  BadHeader,      // CSRC list or header extension runs past the end
  BadRtcpLength,  // the first RTCP packet's length field runs past the end
  NotRtcp,        // on an RTCP port, a packet type outside 192-223 (RFC 5761 §4)
};
const char* toString(PacketDefect defect);

// A datagram on an RTP port: RTP, or RTCP multiplexed onto it (RFC 5761 §4: the second byte is
// 192-223), which is then checked as RTCP.
Result<MediaPacket, PacketDefect> inspectRtpPortDatagram(std::span<const std::uint8_t> datagram);
// A datagram on an RTCP port (RFC 3550 §11: the RTP port + 1): RTCP only.
Result<MediaPacket, PacketDefect> inspectRtcpPortDatagram(std::span<const std::uint8_t> datagram);

}  // namespace p2psip::media
