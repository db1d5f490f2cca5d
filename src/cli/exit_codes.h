// qsweep's exit status, decided here and nowhere else. The rule (README "Exit codes", --help):
//   0  done;
//   1  the command line alone is wrong, whatever the files hold: an unknown subcommand or flag, a
//      missing or contradictory argument, a value that does not parse or is out of range (--set,
//      --filter and --cell included);
//   2  an input is wrong or the work could not be done: a file that is missing, unreadable or
//      malformed, or that does not hold what the command line asks for (a --filter or --cell that
//      matches nothing), a failure while working;
//   3  the work ran and found what it was asked to look for: failed tasks, differences beyond
//      --max-delta, failed cells in a rendered table.
#pragma once

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace qsweep::cli {

enum class Exit : int { kOk = 0, kUsage = 1, kBadInput = 2, kFound = 3 };

// Thrown by a command that finished its work but must report kFound (a sweep with failed tasks).
struct ExitCode {
  Exit code;
};

// Call inside a catch block: prints the current exception's message in one write (as CLI11 does
// for its own errors, --help's text included) and returns the status the rule above gives it.
int exit_status_of_current_exception(CLI::App& app);

// Marks an option whose values are input files: one that does not exist is bad input (2), not a
// usage error, and the message names the option, the path and `what` the file should be.
CLI::Option* input_file(CLI::Option* option, const char* what);
// The same for an input folder.
CLI::Option* input_folder(CLI::Option* option, const char* what);

}  // namespace qsweep::cli
