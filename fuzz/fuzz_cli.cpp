// libFuzzer target: the `tern` command line, parsed in-process. The input is
// split at NUL bytes into arguments. Once parsing and validation are complete,
// the top-level parse-complete callback (which CLI11 runs before any
// subcommand's callback) throws, so no command runs and nothing is loaded.
// Rejection must be a CLI11 error or a tern::Error, whose message printable()
// must keep on one line; anything else is a finding.
#include <cstdint>
#include <string>
#include <vector>

#include "cli/app.h"
#include "core/error.h"
#include "core/printable.h"

namespace {

// Thrown where the chosen command would start. (Replacing the subcommands'
// callbacks instead would free the option structs their lambdas own.)
struct ParsedWithoutRunning {};

void check_one_line(const std::string& message) {
    for (unsigned char c : tern::printable(message))
        if (c < 0x20 || c == 0x7f) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::string> args{"tern"};
    std::string arg;
    for (size_t k = 0; k < size && args.size() < 64; ++k) {
        if (data[k] == 0) {
            args.push_back(arg);
            arg.clear();
        } else {
            arg += static_cast<char>(data[k]);
        }
    }
    if (!arg.empty() && args.size() < 64) args.push_back(arg);
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());

    CLI::App app{"tern"};
    tern::cli::build_app(app);
    app.parse_complete_callback([] { throw ParsedWithoutRunning{}; });
    try {
        app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const ParsedWithoutRunning&) {
    } catch (const CLI::Error& e) {
        check_one_line(e.what());
    } catch (const tern::Error& e) {
        check_one_line(e.what());
    }
    return 0;
}
