#pragma once
// Drawing architectures from a Space, and the one-choice mutation that
// regularized evolution uses. Both are determined by the Rng's seed alone.
#include "nas/arch.h"
#include "nn/data/rng.h"

namespace tern::nas {

// Every choice uniformly and independently (depth per stage, then kernel and
// expansion per block, then the width).
Arch sample_arch(const Space& s, data::Rng& rng);

// `a` with exactly one choice changed to another value the space allows: the
// width, one stage's depth (a new block copies the stage's last block), or one
// block's kernel or expansion. Returns `a` unchanged only when the space has a
// single architecture.
Arch mutate_arch(const Arch& a, const Space& s, data::Rng& rng);

// How many architectures the space holds (saturates at 2^62).
double space_size(const Space& s);

}  // namespace tern::nas
