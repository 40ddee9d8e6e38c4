// SPDX-License-Identifier: Apache-2.0
#include "p2psip/sip/method.h"

namespace p2psip::sip {

Method methodFromToken(std::string_view t) {
  // Case-sensitive per RFC 3261 §7.1; dispatch on length keeps this a couple of compares.
  switch (t.size()) {
    case 3:
      if (t == "ACK") return Method::Ack;
      if (t == "BYE") return Method::Bye;
      break;
    case 4:
      if (t == "INFO") return Method::Info;
      break;
    case 5:
      if (t == "PRACK") return Method::Prack;
      if (t == "REFER") return Method::Refer;
      break;
    case 6:
      if (t == "INVITE") return Method::Invite;
      if (t == "CANCEL") return Method::Cancel;
      if (t == "NOTIFY") return Method::Notify;
      if (t == "UPDATE") return Method::Update;
      break;
    case 7:
      if (t == "OPTIONS") return Method::Options;
      if (t == "MESSAGE") return Method::Message;
      if (t == "PUBLISH") return Method::Publish;
      break;
    case 8:
      if (t == "REGISTER") return Method::Register;
      break;
    case 9:
      if (t == "SUBSCRIBE") return Method::Subscribe;
      break;
    default:
      break;
  }
  return Method::Extension;
}

std::string_view toString(Method m) {
  switch (m) {
    case Method::Invite:
      return "INVITE";
    case Method::Ack:
      return "ACK";
    case Method::Bye:
      return "BYE";
    case Method::Cancel:
      return "CANCEL";
    case Method::Options:
      return "OPTIONS";
    case Method::Register:
      return "REGISTER";
    case Method::Message:
      return "MESSAGE";
    case Method::Subscribe:
      return "SUBSCRIBE";
    case Method::Notify:
      return "NOTIFY";
    case Method::Publish:
      return "PUBLISH";
    case Method::Info:
      return "INFO";
    case Method::Update:
      return "UPDATE";
    case Method::Prack:
      return "PRACK";
    case Method::Refer:
      return "REFER";
    case Method::Extension:
      return "";
  }
  return "";
}

}  // namespace p2psip::sip
