// The coordinator/worker messages of dist/sweep_runner.cpp on the wire: JSON texts over MPI
// point-to-point on MPI_COMM_WORLD, and the quantizer records they carry (JSON has no inf or NaN:
// an exact quantizer's +inf travels as "inf", an unmeasured NaN as null).
#pragma once

#include <nlohmann/json.hpp>

#include <vector>

#include "pipeline/task.h"

namespace qsweep::dist::wire {

using json = nlohmann::json;

enum Tag : int { kReady = 101, kTask = 102, kResult = 103 };

void send(const json& j, int dest, int tag);
// Blocks for the next message from `source` with `tag` (MPI_ANY_SOURCE/MPI_ANY_TAG allowed);
// `source_out`/`tag_out`, when given, receive where it came from.
json receive(int source, int tag, int* source_out = nullptr, int* tag_out = nullptr);

json sqnr_to_json(double db);
double sqnr_from_json(const json& j);
json quantizers_to_json(const std::vector<pipeline::QuantizerRecord>& qs);
std::vector<pipeline::QuantizerRecord> quantizers_from_json(const json& j);

}  // namespace qsweep::dist::wire
