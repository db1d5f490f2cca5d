// The name of this machine as gethostname(2) gives it ("unknown" when it cannot), recorded in
// results rows and in lock holder notes.
#pragma once

#include <string>

namespace qsweep {

std::string host_name();

}  // namespace qsweep
