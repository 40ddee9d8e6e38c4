// SPDX-License-Identifier: Apache-2.0
#include "media_packet.h"

namespace p2psip::media {
namespace {

constexpr std::size_t kRtpFixedHeader = 12;  // RFC 3550 §5.1
constexpr std::size_t kRtcpMinimum = 8;      // header and sender SSRC (RFC 3550 §6.4.1)
constexpr std::uint8_t kRtpVersion = 2;

std::uint16_t read16(std::span<const std::uint8_t> d, std::size_t at) {
  return static_cast<std::uint16_t>((d[at] << 8) | d[at + 1]);
}

std::uint32_t read32(std::span<const std::uint8_t> d, std::size_t at) {
  return (std::uint32_t{d[at]} << 24) | (std::uint32_t{d[at + 1]} << 16) |
         (std::uint32_t{d[at + 2]} << 8) | std::uint32_t{d[at + 3]};
}

// RFC 5761 §4: RTCP packet types 192-223 cannot collide with RTP payload types (with the marker
// bit), so the second byte tells the two apart on a multiplexed port.
bool isRtcpPacketType(std::uint8_t secondByte) {
  return secondByte >= 192 && secondByte <= 223;
}

Result<MediaPacket, PacketDefect> inspectRtcp(std::span<const std::uint8_t> d) {
  if (d.size() < kRtcpMinimum) return tl::unexpected(PacketDefect::TooShort);
  if ((d[0] >> 6) != kRtpVersion) return tl::unexpected(PacketDefect::BadVersion);
  if (!isRtcpPacketType(d[1])) return tl::unexpected(PacketDefect::NotRtcp);
  // Length in 32-bit words minus one (RFC 3550 §6.4.1).
  const std::size_t firstLength = (std::size_t{read16(d, 2)} + 1) * 4;
  if (firstLength > d.size()) return tl::unexpected(PacketDefect::BadRtcpLength);
  return MediaPacket{.kind = PacketKind::Rtcp, .ssrc = read32(d, 4)};
}

}  // namespace

const char* toString(PacketDefect defect) {
  switch (defect) {
    case PacketDefect::TooShort:
      return "too short";
    case PacketDefect::BadVersion:
      return "version is not 2";
    case PacketDefect::BadHeader:
      return "CSRC list or header extension past the end";
    case PacketDefect::BadRtcpLength:
      return "RTCP length past the end";
    case PacketDefect::NotRtcp:
      return "not an RTCP packet type";
  }
  return "unknown defect";
}

Result<MediaPacket, PacketDefect> inspectRtpPortDatagram(std::span<const std::uint8_t> d) {
  if (d.size() < 2) return tl::unexpected(PacketDefect::TooShort);
  if ((d[0] >> 6) != kRtpVersion) return tl::unexpected(PacketDefect::BadVersion);
  if (isRtcpPacketType(d[1])) return inspectRtcp(d);
  if (d.size() < kRtpFixedHeader) return tl::unexpected(PacketDefect::TooShort);
  std::size_t header = kRtpFixedHeader + 4 * std::size_t{d[0] & 0x0fU};  // CSRC count
  if (header > d.size()) return tl::unexpected(PacketDefect::BadHeader);
  if ((d[0] & 0x10U) != 0) {  // X: a header extension follows (RFC 3550 §5.3.1)
    if (header + 4 > d.size()) return tl::unexpected(PacketDefect::BadHeader);
    header += 4 + 4 * std::size_t{read16(d, header + 2)};
    if (header > d.size()) return tl::unexpected(PacketDefect::BadHeader);
  }
  return MediaPacket{.kind = PacketKind::Rtp,
                     .ssrc = read32(d, 8),
                     .sequence = read16(d, 2),
                     .timestamp = read32(d, 4)};
}

Result<MediaPacket, PacketDefect> inspectRtcpPortDatagram(std::span<const std::uint8_t> d) {
  return inspectRtcp(d);
}

}  // namespace p2psip::media
