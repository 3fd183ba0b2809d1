#pragma once
// Whether an independent reference (a library, a script's interpreter, a data
// file) can run here: present, missing (not installed), or broken (installed
// and failing). No gtest here, so benchmarks can include it too; tests report
// through tests/ref/reference.h.
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

namespace tern::testref {

inline bool references_required() {
    const char* v = std::getenv("TERN_REQUIRE_REFERENCES");
    return v && std::strcmp(v, "") != 0 && std::strcmp(v, "0") != 0;
}

inline const char* missing_reference_prefix() {
    return references_required() ? "reference missing and TERN_REQUIRE_REFERENCES=1" : "reference missing";
}

struct Reference {
    enum class State { present, missing, broken };
    State state = State::present;
    std::string why;  // empty when present

    static Reference present() { return {}; }
    static Reference missing(std::string why) { return {State::missing, std::move(why)}; }
    static Reference broken(std::string why) { return {State::broken, std::move(why)}; }
    bool usable() const { return state == State::present; }
    std::string message() const {
        return (state == State::broken ? std::string("reference present but broken: ")
                                       : std::string(missing_reference_prefix()) + ": ") +
               why;
    }
};

// A file the reference needs: missing (with `hint`) when it does not exist.
inline Reference file_reference(const std::string& path, const std::string& hint = "run scripts/setup.sh") {
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) return Reference::present();
    return Reference::missing(path + " not found (" + hint + ")");
}

// A module for Debian's /usr/bin/python3 (the reference scripts' interpreter):
// missing when python3 or the module is not installed, broken when the module
// is installed and its import fails.
inline Reference python_module_reference(const std::string& module, const std::string& hint) {
    const std::string py = "/usr/bin/python3";
    if (std::system((py + " -c 'import " + module + "' >/dev/null 2>&1").c_str()) == 0) return Reference::present();
    std::error_code ec;
    if (!std::filesystem::exists(py, ec)) return Reference::missing(py + " not found (" + hint + ")");
    const std::string find = py + " -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec(\"" + module +
                             "\") is None)' >/dev/null 2>&1";
    if (std::system(find.c_str()) != 0) return Reference::missing("python module " + module + " not installed (" + hint + ")");
    return Reference::broken(py + " -c 'import " + module + "' fails though the module is installed");
}

}  // namespace tern::testref
