// The `tern` program: git-style subcommands over the library. Exit codes:
// 0 success, 1 bad input (one line naming the file and the problem), 2 bad usage.
#include <cstdio>
#include <exception>
#include <string>

#include "cli/app.h"
#include "cli/parse_error_text.h"
#include "core/error.h"
#include "core/printable.h"

namespace {

// Messages quote file content (tensor names, metadata, tokens): escaped, an
// error stays one line and cannot drive the terminal.
void print_error(const char* prefix, const std::string& message, const char* suffix = "") {
    std::fprintf(stderr, "tern: %s%s%s\n", prefix, tern::printable(message).c_str(), suffix);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"tern: compress, search and run neural networks efficiently on CPUs and microcontrollers"};
    tern::cli::build_app(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        print_error("", tern::cli::parse_error_text(app, e, argc, argv), " (see tern --help)");
        return 2;
    } catch (const tern::UsageError& e) {
        print_error("", e.what());
        return 2;
    } catch (const tern::Error& e) {
        print_error("", e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "tern: out of memory\n");
        return 1;
    } catch (const std::exception& e) {
        print_error("internal error: ", e.what());
        return 1;
    }
    return 0;
}
