// One task of a results file in full (`qsweep show`): its cell and status, accuracy, provenance
// (rank, host, device, times, weights sha256, data fingerprint, the commit of the run that wrote
// it), phase timings, the resolved configuration, every attempt, and a per-layer table of its
// quantizers (bits, range, scale, zero point, observed min/max and SQNR).
//
//   results::print_task(store, *store.latest(id), std::cout);
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "results/store.h"

namespace qsweep::results {

void print_task(const ResultsStore& store, const TaskRow& row, std::ostream& out);

// The ids of `store`'s tasks whose (newest) row has every `key=value` of `fields`.
std::vector<std::string> matching_task_ids(const ResultsStore& store, const std::string& cell_filter);
// The keys `matching_task_ids` accepts: model, backend, w_calib, a_calib, wbit, abit, status.
const std::vector<std::string>& task_filter_keys();

}  // namespace qsweep::results
