// SPDX-License-Identifier: Apache-2.0
// Cost of signing and verifying overlay records for each node key type, and of making a key.
// A user's first REGISTER publishes one signed record (seal), every reader checks it (open), and
// refreshes re-sign it. Prints the medians as records per second per core, next to the record
// size each key type adds (public key + signature). Figures: docs/adr/0003-node-identity-keys.md.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "p2psip/identity/node_identity.h"
#include "p2psip/identity/signed_envelope.h"

namespace {

using p2psip::identity::KeyType;
using p2psip::identity::NodeIdentity;
using p2psip::identity::RecordKind;

constexpr KeyType kKeyTypes[] = {KeyType::Ed25519, KeyType::EcdsaP256, KeyType::Rsa2048,
                                 KeyType::Rsa4096};

// A user record of typical size (200 bytes): AOR, serving peer's NodeId, contact, instance,
// expiry and sequence number.
const std::string kUserRecord =
    "aor=sip:alice@p2p.test;peer=4f1c2a9b8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170;"
    "contact=<sip:alice@192.0.2.10:5060;transport=udp>;instance=urn:uuid:0b6e7c0a-7d9f-4a5e;"
    "expires=3600;seq=17;q=1.0;x";

std::string name(KeyType type) {
  return std::string(p2psip::identity::toString(type));
}

const NodeIdentity& identityOf(KeyType type) {
  static std::map<KeyType, NodeIdentity> identities;
  auto it = identities.find(type);
  if (it == identities.end()) {
    auto created = NodeIdentity::generate(type);
    if (!created) {
      std::fprintf(stderr, "generate %s: %s\n", name(type).c_str(), created.error().detail.c_str());
      std::abort();
    }
    it = identities.emplace(type, std::move(*created)).first;
  }
  return it->second;
}

void sealRecord(benchmark::State& state, KeyType type) {
  const NodeIdentity& signer = identityOf(type);
  for (auto _ : state) {
    auto envelope = p2psip::identity::seal(signer, RecordKind::User, kUserRecord);
    if (!envelope) state.SkipWithError("seal failed");
    benchmark::DoNotOptimize(envelope);
  }
  state.SetItemsProcessed(state.iterations());
}

void openRecord(benchmark::State& state, KeyType type) {
  const auto envelope = p2psip::identity::seal(identityOf(type), RecordKind::User, kUserRecord);
  if (!envelope) {
    state.SkipWithError("seal failed");
    return;
  }
  for (auto _ : state) {
    auto opened = p2psip::identity::open(*envelope, RecordKind::User);
    if (!opened) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(opened);
  }
  state.SetItemsProcessed(state.iterations());
}

// A full batch (kMaxBatch records under one signature), as the signer thread seals a burst of
// first registrations. The figure printed is per record.
std::vector<p2psip::identity::BatchRecord> fullBatch() {
  return std::vector<p2psip::identity::BatchRecord>(p2psip::identity::kMaxBatch,
                                                    {RecordKind::User, kUserRecord});
}

void sealBatchOfRecords(benchmark::State& state, KeyType type) {
  const NodeIdentity& signer = identityOf(type);
  const auto records = fullBatch();
  for (auto _ : state) {
    auto envelopes = p2psip::identity::sealBatch(signer, records);
    if (!envelopes.back()) state.SkipWithError("sealBatch failed");
    benchmark::DoNotOptimize(envelopes);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(records.size()));
}

void openBatchedRecord(benchmark::State& state, KeyType type) {
  const auto envelopes = p2psip::identity::sealBatch(identityOf(type), fullBatch());
  if (!envelopes[5]) {
    state.SkipWithError("sealBatch failed");
    return;
  }
  for (auto _ : state) {
    auto opened = p2psip::identity::open(*envelopes[5], RecordKind::User);
    if (!opened) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(opened);
  }
  state.SetItemsProcessed(state.iterations());
}

// A new identity: key pair and self-signed certificate, as on a peer's first start.
void generateIdentity(benchmark::State& state, KeyType type) {
  for (auto _ : state) {
    auto identity = NodeIdentity::generate(type);
    if (!identity) state.SkipWithError("generate failed");
    benchmark::DoNotOptimize(identity);
  }
}

// Keeps each benchmark's median to print one table after the run.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      const bool single = r.run_type == Run::RT_Iteration && r.repetitions <= 1;
      if (!median && !single) continue;
      // "generate/rsa-4096/iterations:4_median" -> "generate/rsa-4096"
      std::string base = r.benchmark_name();
      base = base.substr(0, base.find("_median"));
      base = base.substr(0, base.find("/iterations:"));
      // CPU time, not wall time: the figure is work per core, and the machine is shared, so
      // wall time also counts the time other processes held the core.
      nanoseconds_[base] =
          r.GetAdjustedCPUTime() / benchmark::GetTimeUnitMultiplier(r.time_unit) * 1e9;
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void printSummary() const {
    std::printf("\nuser record body: %zu bytes (medians of CPU time)\n", kUserRecord.size());
    std::printf("%-11s %9s %9s %12s %12s %11s %6s %6s %9s %11s %11s %9s\n", "key type", "seal us",
                "open us", "seals/s/core", "opens/s/core", "keygen ms", "key B", "sig B",
                "record B", "batch us/rec", "b. open us", "b. rec B");
    for (const KeyType type : kKeyTypes) {
      const std::string n = name(type);
      const double seal = valueOf("seal/" + n);
      const double open = valueOf("open/" + n);
      const double keygen = valueOf("generate/" + n);
      const NodeIdentity& identity = identityOf(type);
      const auto envelope = p2psip::identity::seal(identity, RecordKind::User, kUserRecord);
      const auto decoded = p2psip::identity::decodeEnvelope(*envelope);
      const auto batched = p2psip::identity::sealBatch(identity, fullBatch());
      const double batchSeal = valueOf("sealbatch/" + n) / static_cast<double>(fullBatch().size());
      std::printf("%-11s %9.1f %9.1f %12.0f %12.0f %11.2f %6zu %6zu %9zu %11.1f %11.1f %9zu\n",
                  n.c_str(), seal / 1e3, open / 1e3, seal > 0 ? 1e9 / seal : 0.0,
                  open > 0 ? 1e9 / open : 0.0, keygen / 1e6, decoded->signerKey.size(),
                  decoded->signature.size(), envelope->size(), batchSeal / 1e3,
                  valueOf("openbatched/" + n) / 1e3, batched[0]->size());
    }
  }

 private:
  double valueOf(const std::string& key) const {
    auto it = nanoseconds_.find(key);
    return it == nanoseconds_.end() ? 0.0 : it->second;
  }
  std::map<std::string, double> nanoseconds_;
};

}  // namespace

int main(int argc, char** argv) {
  for (const KeyType type : kKeyTypes) {
    identityOf(type);  // generated before timing starts
    benchmark::RegisterBenchmark(("seal/" + name(type)).c_str(), sealRecord, type)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("open/" + name(type)).c_str(), openRecord, type)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("sealbatch/" + name(type)).c_str(), sealBatchOfRecords, type)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("openbatched/" + name(type)).c_str(), openBatchedRecord, type)
        ->Unit(benchmark::kMicrosecond);
  }
  for (const KeyType type : kKeyTypes) {
    auto* b =
        benchmark::RegisterBenchmark(("generate/" + name(type)).c_str(), generateIdentity, type);
    b->Unit(benchmark::kMillisecond);
    // RSA key generation searches for primes: seconds per key and a wide spread, so give it a
    // fixed number of keys instead of a time budget.
    if (type == KeyType::Rsa4096) b->Iterations(4);
    if (type == KeyType::Rsa2048) b->Iterations(20);
  }
  std::vector<char*> args(argv, argv + argc);
  std::string reps = "--benchmark_repetitions=5";
  std::string onlyAggregates = "--benchmark_report_aggregates_only=true";
  bool hasRepetitions = false;
  for (int i = 1; i < argc; ++i) {
    hasRepetitions = hasRepetitions || std::string(argv[i]).starts_with("--benchmark_repetitions");
  }
  if (!hasRepetitions) {
    args.push_back(reps.data());
    args.push_back(onlyAggregates.data());
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.printSummary();
  benchmark::Shutdown();
  return 0;
}
