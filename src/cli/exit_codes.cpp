// The one mapping from what went wrong to qsweep's exit status (exit_codes.h has the rule).
#include "cli/exit_codes.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "support/error.h"

namespace qsweep::cli {
namespace {

// One write per message: under mpirun every rank's stderr reaches one terminal, and a message
// written in pieces interleaves with another rank's ("qsweep: error: qsweep: error: rank 1: …").
void print_error(const char* prefix, const char* what) {
  const std::string line = std::string(prefix) + what + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

class MissingInput : public Error {
 public:
  using Error::Error;
};

// CLI11's ExistingFile/ExistingDirectory would make a missing input a parse error (exit 1); it is
// the file system's answer, not the command line's, so this throws qsweep's own error (exit 2).
// CLI11 lets an `each` callback's exceptions other than its ValidationError pass through parse().
CLI::Option* input_path(CLI::Option* option, const char* what, bool folder) {
  // A flag is named ("--eval x.h5: …"); a positional argument is its path alone.
  const std::string name = option->get_name();
  const std::string label = name.rfind('-', 0) == 0 ? name + " " : "";
  const std::string expected = what;
  return option->each([label, expected, folder](const std::string& path) {
    std::error_code ec;
    const auto st = std::filesystem::status(path, ec);
    const char* kind = folder ? "folder" : "file";
    if (!std::filesystem::exists(st)) {
      throw MissingInput(fmt::format("{}{}: no such {} (expected {})", label, path, kind, expected));
    }
    if (std::filesystem::is_directory(st) != folder) {
      throw MissingInput(fmt::format("{}{}: not a {} (expected {})", label, path, kind, expected));
    }
  });
}

}  // namespace

int exit_status_of_current_exception(CLI::App& app) {
  try {
    throw;
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with code 0; every other parse error is the command line's.
    return app.exit(e) == 0 ? static_cast<int>(Exit::kOk) : static_cast<int>(Exit::kUsage);
  } catch (const ExitCode& e) {
    return static_cast<int>(e.code);
  } catch (const UsageError& e) {
    print_error("qsweep: error: ", e.what());
    return static_cast<int>(Exit::kUsage);
  } catch (const Error& e) {
    print_error("qsweep: error: ", e.what());
    return static_cast<int>(Exit::kBadInput);
  } catch (const std::exception& e) {
    print_error("qsweep: internal error: ", e.what());
    return static_cast<int>(Exit::kBadInput);
  }
}

CLI::Option* input_file(CLI::Option* option, const char* what) { return input_path(option, what, false); }
CLI::Option* input_folder(CLI::Option* option, const char* what) { return input_path(option, what, true); }

}  // namespace qsweep::cli
