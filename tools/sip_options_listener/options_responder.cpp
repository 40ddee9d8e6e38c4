// SPDX-License-Identifier: Apache-2.0
#include "options_responder.h"

#include <string>

#include "p2psip/sip/parser.h"

namespace p2psip::tools {

namespace {
constexpr std::string_view kAllow = "OPTIONS";
}  // namespace

void OptionsResponder::answer(transaction::ServerTransactionId id, const sip::Message& request,
                              std::uint16_t status) {
  // §8.2.6.2: a UAS adds a To tag to responses that create or could create a dialog; one per
  // request.
  std::string tag = "opt" + std::to_string(++tagCounter_);
  sip::Message response = sip::makeResponse(request, status, {}, tag);
  if (status == 200 || status == 405) response.addHeader("Allow", kAllow);
  if (status == 200) {
    response.addHeader("Accept", "application/sdp");
    response.addHeader("Supported", "outbound, path");
  }
  response.addHeader("Server", "p2psip-sip-options-listener/0.1");
  (void)layer_->respond(id, std::move(response));
}

void OptionsResponder::onRequest(transaction::ServerTransactionId id, sip::Message&& request,
                                 const transport::Flow&) {
  if (!request.requestUri().isSip() && request.requestUri().scheme != sip::UriScheme::Tel) {
    answer(id, request, 416);
  } else if (request.method() == sip::Method::Options) {
    ++optionsAnswered_;
    answer(id, request, 200);
  } else if (request.method() == sip::Method::Extension) {
    answer(id, request, 501);
  } else {
    answer(id, request, 405);
  }
}

void OptionsResponder::onCancel(transaction::ServerTransactionId id,
                                std::optional<transaction::ServerTransactionId> invite,
                                sip::Message&& cancel, const transport::Flow&) {
  // Every INVITE was answered at once with 405, so nothing is left to cancel (§9.2).
  answer(id, cancel, invite ? 200 : 481);
}

}  // namespace p2psip::tools
