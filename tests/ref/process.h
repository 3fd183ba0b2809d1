#pragma once
// Running a reference script (node, python3) from a test: shell quoting and
// capturing its stdout with its exit status.
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace tern::testref {

inline std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// Runs `command`, returns its stdout; rc receives the exit status.
inline std::string run_capture(const std::string& command, int& rc) {
    std::string out;
    FILE* p = popen(command.c_str(), "r");
    if (!p) {
        rc = -1;
        return out;
    }
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = pclose(p);
    rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

}  // namespace tern::testref
