#pragma once
// Overflow-checked size arithmetic for numbers that come from a file or an
// option: a wrapped product silently turns "too large" into "small and wrong"
// (a huge --chunks times --ctx became 8 tokens), so it must fail loudly.
// `where` names the source (a file, an option) for the error message; Err is
// InputError for file contents and UsageError for command-line options.
#include <concepts>
#include <string>

#include "core/error.h"

namespace tern {

template <class Err = InputError, std::integral T>
T checked_mul(T a, T b, const std::string& where) {
    T r;
    if (__builtin_mul_overflow(a, b, &r))
        throw Err(where, std::to_string(a) + " x " + std::to_string(b) + " overflows " +
                             std::to_string(8 * sizeof(T)) + "-bit arithmetic");
    return r;
}

template <class Err = InputError, std::integral T>
T checked_add(T a, T b, const std::string& where) {
    T r;
    if (__builtin_add_overflow(a, b, &r))
        throw Err(where, std::to_string(a) + " + " + std::to_string(b) + " overflows " +
                             std::to_string(8 * sizeof(T)) + "-bit arithmetic");
    return r;
}

}  // namespace tern
