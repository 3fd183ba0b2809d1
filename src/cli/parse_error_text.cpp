#include "cli/parse_error_text.h"

namespace tern::cli {

std::string parse_error_text(const CLI::App& app, const CLI::ParseError& e, int argc, const char* const* argv) {
    // tern's own options all start with '-', so a first word without one must name a subcommand.
    if (argc > 1 && argv[1][0] != '-') {
        const std::string word = argv[1];
        std::string names;
        bool known = false;
        for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
            names += (names.empty() ? "" : ", ") + sub->get_name();
            known = known || sub->check_name(word);
        }
        if (!known) return "unknown subcommand '" + word + "' (subcommands: " + names + ")";
    }
    return e.what();
}

}  // namespace tern::cli
