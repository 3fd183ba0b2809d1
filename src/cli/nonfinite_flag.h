#pragma once
// --allow-nonfinite, on every command that loads a model: weights holding NaN
// or Inf are refused at load (naming the tensor) unless it is given.
#include <CLI/CLI.hpp>

namespace tern::cli {

inline void add_allow_nonfinite_flag(CLI::App& cmd, bool& allow) {
    cmd.add_flag("--allow-nonfinite", allow,
                 "load weights that hold NaN or Inf (a run whose logits turn NaN or Inf still stops with an error)");
}

}  // namespace tern::cli
