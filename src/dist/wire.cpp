// See wire.h.
#include "dist/wire.h"

#include <mpi.h>

#include <cmath>
#include <limits>
#include <string>

namespace qsweep::dist::wire {

void send(const json& j, int dest, int tag) {
  const std::string s = j.dump();
  MPI_Send(s.data(), static_cast<int>(s.size()), MPI_CHAR, dest, tag, MPI_COMM_WORLD);
}

json receive(int source, int tag, int* source_out, int* tag_out) {
  MPI_Status st;
  MPI_Probe(source, tag, MPI_COMM_WORLD, &st);
  int n = 0;
  MPI_Get_count(&st, MPI_CHAR, &n);
  std::string s(static_cast<size_t>(n), '\0');
  MPI_Recv(s.data(), n, MPI_CHAR, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (source_out) *source_out = st.MPI_SOURCE;
  if (tag_out) *tag_out = st.MPI_TAG;
  return json::parse(s);
}

// JSON has no inf or NaN (nlohmann writes both as null): an exact quantizer's +inf goes as "inf".
json sqnr_to_json(double db) {
  if (std::isnan(db)) return nullptr;
  if (std::isinf(db)) return "inf";
  return db;
}

double sqnr_from_json(const json& j) {
  if (j.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (j.is_string()) return std::numeric_limits<double>::infinity();
  return j.get<double>();
}

json quantizers_to_json(const std::vector<pipeline::QuantizerRecord>& qs) {
  json out = json::array();
  for (const auto& q : qs) {
    out.push_back({{"name", q.name}, {"w", q.is_weight}, {"bits", q.bits}, {"qmin", q.qmin}, {"qmax", q.qmax},
                   {"min", q.min_val}, {"max", q.max_val}, {"scale", q.scale}, {"zp", q.zero_point},
                   {"sqnr", sqnr_to_json(q.sqnr_db)}});
  }
  return out;
}

std::vector<pipeline::QuantizerRecord> quantizers_from_json(const json& j) {
  std::vector<pipeline::QuantizerRecord> out;
  for (const auto& q : j) {
    pipeline::QuantizerRecord r;
    r.name = q.at("name"); r.is_weight = q.at("w"); r.bits = q.at("bits"); r.qmin = q.at("qmin"); r.qmax = q.at("qmax");
    r.min_val = q.at("min").get<std::vector<float>>(); r.max_val = q.at("max").get<std::vector<float>>();
    r.scale = q.at("scale").get<std::vector<float>>(); r.zero_point = q.at("zp").get<std::vector<int32_t>>();
    r.sqnr_db = sqnr_from_json(q.at("sqnr"));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace qsweep::dist::wire
