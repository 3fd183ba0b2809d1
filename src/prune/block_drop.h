#pragma once
// Dropping whole transformer blocks of a language model, chosen by measured
// importance (the "whole layers" granularity of issue 25; Gromov et al.
// 2403.17887 and ShortGPT 2403.03853 show deep LMs tolerate it). A block's
// importance is how much the calibration text's perplexity rises when that
// block alone is removed from the model as it stands (the residual stream
// passes straight on): greedy, K rounds, each dropping the block whose removal
// costs least, then re-scoring the rest without it. The output is the model
// with those blocks gone, the remaining blocks renumbered blk.0 .. blk.{L-K-1}
// and <arch>.block_count set to L - K, so tern and llama.cpp load it as a
// shallower model of the same kind.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/gguf_types.h"
#include "io/named_tensor.h"
#include "quant/calibration.h"

namespace tern::prune {

struct BlockDropOptions {
    std::string input, output;  // GGUF in and out
    int64_t blocks = 1;         // K: how many blocks to drop, 1 <= K < L
    // calib / n_tokens / ctx: the text scored (--calib; calibration.model is set to input).
    quant::CalibrateOptions calibration;
};

struct BlockDropRound {
    std::vector<double> ppl_without;  // per original block: calibration ppl with it also dropped (NaN: gone already)
    int64_t dropped = -1;             // original index chosen this round
};

struct BlockDropResult {
    int64_t blocks_before = 0;
    std::vector<int64_t> dropped;      // original indices, ascending
    double calib_ppl_dense = 0, calib_ppl_after = 0;
    int64_t calib_tokens = 0;          // tokens whose NLL was scored per evaluation
    std::vector<BlockDropRound> rounds;
    int64_t params_before = 0, params_after = 0;
};

// The tensors and metadata of `metadata`/`tensors` without the blocks in
// `drop` (original indices): blk.N.* renumbered in order, <arch>.block_count
// = L - |drop|. InputError when a metadata array has one entry per block (it
// would need slicing too) or a tensor names a block outside 0..L-1.
void remove_blocks(io::GgufMetadata& metadata, std::vector<NamedTensor>& tensors, const std::vector<int64_t>& drop,
                   int64_t n_blocks, const std::string& where);

// Scores, drops and writes options.output atomically (checked to load, as
// every tern prune output). UsageError (exit 2) for a bad output name or K < 1;
// InputError naming the input for K >= L (it depends on the model) or a model
// tern does not run; calibration errors as quant::CalibrationRun's.
BlockDropResult drop_blocks(const BlockDropOptions& options, const std::function<void(const std::string&)>& log = {});

}  // namespace tern::prune
