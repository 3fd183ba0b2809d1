#pragma once
// What `tern prune` runs: checks the request, reads the input, dispatches on
// its kind (a GGUF language model today; classifiers are refused with one
// clear error until their pruning lands here), prunes and writes the output
// atomically, checked to load as tern's LLM runtime loads it.
#include <string>

#include "prune/llm_prune.h"

namespace tern::prune {

struct PruneFileRequest {
    std::string input, output;  // output: .gguf
    PruneRecipe recipe;         // recipe.calibration.model is set to input
};

// UsageError (exit 2) for bad options before any reading; InputError / IoError
// naming the file for a bad input; nothing is written unless it all succeeds.
PrunedModel prune_file(const PruneFileRequest& request);

}  // namespace tern::prune
