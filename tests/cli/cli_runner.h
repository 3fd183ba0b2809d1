#pragma once
// Runs the built `tern` program with arguments and captures its exit code,
// stdout and stderr separately (the CLI contract puts errors on stderr).
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace tern::testcli {

struct RunResult {
    int code;
    std::string out;  // stdout
    std::string err;  // stderr
    std::string all() const { return out + err; }
};

// shell_prefix runs before tern in the same shell (e.g. "ulimit -v 524288 && exec").
inline RunResult run_tern_with_prefix(const std::string& shell_prefix, const std::string& args) {
    char err_tmpl[] = "/tmp/tern-cli-stderr-XXXXXX";
    const int fd = ::mkstemp(err_tmpl);
    if (fd >= 0) ::close(fd);
    const std::string cmd = shell_prefix + (shell_prefix.empty() ? "" : " ") + std::string(TERN_BINARY_PATH) + " " +
                            args + " 2>" + err_tmpl;
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    const int status = ::pclose(p);
    std::ifstream in(err_tmpl, std::ios::binary);
    std::string err((std::istreambuf_iterator<char>(in)), {});
    ::unlink(err_tmpl);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, err};
}

inline RunResult run_tern(const std::string& args) { return run_tern_with_prefix("", args); }

// The same with `input` as the program's stdin (a file, so stdin is not a TTY).
inline RunResult run_tern_stdin(const std::string& args, const std::string& input) {
    char in_tmpl[] = "/tmp/tern-cli-stdin-XXXXXX";
    const int fd = ::mkstemp(in_tmpl);
    if (fd < 0) return {-1, "", "cannot create a stdin file"};
    const bool written = ::write(fd, input.data(), input.size()) == static_cast<ssize_t>(input.size());
    ::close(fd);
    RunResult r = written ? run_tern(args + " <" + in_tmpl) : RunResult{-1, "", "cannot write the stdin file"};
    ::unlink(in_tmpl);
    return r;
}

}  // namespace tern::testcli
