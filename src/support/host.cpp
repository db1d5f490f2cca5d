#include "support/host.h"

#include <unistd.h>

namespace qsweep {

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

}  // namespace qsweep
