// A Cell as JSON text: what rank 0 sends a worker rank for each task. Every field travels,
// unset optionals as null, so that a worker runs exactly the cell rank 0 planned (the worker
// also re-derives the task id from it, see dist/sweep_runner.cpp).
//
//   const std::string text = sweep::cell_to_json(cell);
//   sweep::Cell same = sweep::cell_from_json(text);   // throws SweepError on a malformed text
#pragma once

#include <string>

#include "sweep/sweep_spec.h"

namespace qsweep::sweep {

std::string cell_to_json(const Cell& cell);
Cell cell_from_json(const std::string& text);

}  // namespace qsweep::sweep
