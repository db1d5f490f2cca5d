// The cost model's samples from a results file: every ok row run on one rank, with its task's work
// (from the resolved configuration in /plan/json) and the phase seconds it recorded.
//
//   auto samples = results::cost_samples(store);
//   auto fit = sweep::fit_costs(samples.samples, samples.reference, store.path());
//   std::cout << sweep::format_fit_errors(sweep::fit_errors(fit, samples.samples));
#pragma once

#include <string>
#include <vector>

#include "results/store.h"
#include "sweep/cost_model.h"

namespace qsweep::results {

struct CostSamples {
  std::vector<sweep::CostSample> samples;
  std::string reference;  // "one rank of <host> (<device>)": where the seconds were measured
  int skipped_groups = 0;   // rows of task groups: their seconds are a group's, not one rank's
  int skipped_unplanned = 0;  // rows the file's plan does not describe
};

// The image size is what `plan` assumes without data (32 px for small_input models, else 224):
// results files do not record it. A row whose a_stats is "cached", or of a file written before
// a_stats was recorded with under 0.01 s of activation calibration, prices no activation calibration.
CostSamples cost_samples(const ResultsStore& store);

}  // namespace qsweep::results
