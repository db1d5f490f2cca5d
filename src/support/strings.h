// Small string helpers shared by every registry and validator: "did you mean" suggestions and
// joined name lists for error messages.
#pragma once

#include <string>
#include <vector>

namespace qsweep {

// Levenshtein distance (case-insensitive).
int edit_distance(const std::string& a, const std::string& b);
// The candidate closest to `name`, or "" when none is within a third of its length (at least 2 edits).
std::string closest_match(const std::string& name, const std::vector<std::string>& candidates);
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");
// "unknown observer 'emamse'; did you mean 'ema_mse'? known: minmax, ema_minmax, ..."
std::string unknown_name_message(const std::string& what, const std::string& name,
                                 const std::vector<std::string>& known);

// RFC 4180 field: quoted (with doubled quotes) only when it holds a comma, quote or line break.
std::string csv_quote(const std::string& field);

}  // namespace qsweep
