#pragma once
// Typed errors with context. Library boundaries throw these; the CLI catches
// them and prints one line. The message always starts with "[where]" so a user
// sees which file, tensor or option the problem is about.
#include <stdexcept>
#include <string>

namespace tern {

class Error : public std::runtime_error {
public:
    Error(const std::string& where, const std::string& what)
        : std::runtime_error("[" + where + "] " + what), where_(where), what_(what) {}
    const std::string& where() const { return where_; }
    const std::string& detail() const { return what_; }

private:
    std::string where_;
    std::string what_;
};

// The user's input (a file, a value) is wrong: CLI exit code 1.
class InputError : public Error {
public:
    using Error::Error;
};

// A file could not be read or written: CLI exit code 1.
class IoError : public Error {
public:
    using Error::Error;
};

// Bad command-line usage (unknown flag, missing argument): CLI exit code 2.
class UsageError : public Error {
public:
    using Error::Error;
};

// Formats a printf-style message into a std::string (for error details).
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace tern
