#pragma once
// K-means weight sharing of a whole classifier and its compressed file: every
// Linear / Conv weight (a parameter of rank >= 2) gets its own codebook
// (quant/kmeans_share.h); biases and batch-norm tensors stay F32. The file is
// a tern classifier (safetensors) whose shared weights are stored as
// codebooks plus fixed-width or Huffman-coded code streams
// (io/shared_weights.h); load_classifier decodes it.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nn/modules/module.h"
#include "quant/kmeans_share.h"

namespace tern::quant {

struct KmeansOptions {
    int bits = 4;          // codebook of at most 2^bits values per layer, in [1, 8]
    int index_bits = 5;    // width of a pruned layer's relative index (zero gap), in [1, 16]
    bool huffman = false;  // Huffman-code the codes and gaps
};

// The weights K-means shares, by name (rank >= 2 parameters named *.weight).
std::vector<std::pair<std::string, nn::Var>> shared_weight_parameters(const nn::Module& model);

// Replaces each shared weight by its centroid; returns the codebooks by layer.
std::vector<SharedCodebook> share_model_weights(nn::Module& model, int bits);

struct KmeansLayerReport {
    std::string name;
    int64_t weights = 0, nonzero = 0;
    int codebook = 0;    // shared values used
    uint64_t bytes = 0;  // of its codebook and streams in the file
    double bits_per_weight() const { return weights ? 8.0 * static_cast<double>(bytes) / static_cast<double>(weights) : 0; }
    double bits_per_nonzero() const { return nonzero ? 8.0 * static_cast<double>(bytes) / static_cast<double>(nonzero) : 0; }
};

// Writes `model` (its shared weights already hold at most 2^bits distinct
// nonzero values each, or they are clustered now) as a compressed classifier
// file, atomically. `metadata` must include tern.model.
std::vector<KmeansLayerReport> save_shared_classifier(const std::string& path, const nn::Module& model,
                                                      std::map<std::string, std::string> metadata,
                                                      const KmeansOptions& options);

struct KmeansFileResult {
    std::vector<KmeansLayerReport> layers;
    uint64_t bytes_before = 0, bytes_after = 0;  // the two files' sizes on disk
};

// One-shot: load a classifier file, share its weights, write the compressed
// file (`tern quantize M.safetensors -o OUT.safetensors --method kmeans`).
KmeansFileResult kmeans_compress_file(const std::string& input, const std::string& output, const KmeansOptions& options);

}  // namespace tern::quant
