#pragma once
// The MobileNetV2 / Once-for-All-style elastic search space scaled to 28x28
// grey images, and one architecture in it. A Space lists the choices (per
// stage depths; per block depthwise kernel and expansion; a width multiplier
// over all channels); an Arch is one pick of each, self-contained (it carries
// its channels and strides) so a model file can rebuild it without the space.
// Input resolution is fixed at 28 for now.
#include <cstdint>
#include <string>
#include <vector>

#include "core/json_out.h"

namespace tern::nas {

struct BlockArch {
    int64_t kernel = 3;     // depthwise kernel: 3, 5 or 7 (1 allowed)
    int64_t expansion = 4;  // inverted-residual expansion ratio, 1..8
    bool operator==(const BlockArch&) const = default;
};

struct StageArch {
    int64_t channels = 16;  // before the width multiplier
    int64_t stride = 1;     // of the stage's first block
    std::vector<BlockArch> blocks;  // its depth is blocks.size()
    bool operator==(const StageArch&) const = default;
};

struct Arch {
    int64_t stem = 16, head = 128;  // channels before the width multiplier
    double width = 1.0;
    std::vector<StageArch> stages;
    bool operator==(const Arch&) const = default;
};

struct StageSpace {
    int64_t channels = 16, stride = 1;
    std::vector<int64_t> depths;  // allowed block counts
};

struct Space {
    int64_t stem = 16, head = 128;
    std::vector<StageSpace> stages;
    std::vector<int64_t> kernels, expansions;
    std::vector<double> widths;
};

// Bounds every Arch and Space respects (they size models built from files).
constexpr int64_t kMaxStages = 8, kMaxDepth = 8, kMaxExpansion = 8, kMaxChannels = 1024;
constexpr double kMinWidth = 0.125, kMaxWidth = 2.0;

// The built-in space `tern search mobilenet` uses: mobilenetv2_tiny's stages
// (16-24-32-64, strides 1-2-2-1, stem 16, head 128) with depth 2-4 per stage,
// kernel 3/5/7 and expansion 3/4/6 per block, width 0.5/0.75/1.0.
Space mobilenet_space();

// Channels after the width multiplier: rounded to a multiple of 4, at least 4.
int64_t scaled_channels(int64_t base, double width);

// Throws InputError(where, ...) naming the first field that is out of bounds.
void validate_arch(const Arch& a, const std::string& where);
void validate_space(const Space& s, const std::string& where);
// Empty when `a` is one of `s`'s architectures, else why not.
std::string arch_outside_space(const Arch& a, const Space& s);

Json arch_to_json(const Arch& a);
std::string arch_to_string(const Arch& a);  // compact one-line JSON
// Strict: unknown keys, wrong types and out-of-bounds values are InputError(where, ...).
Arch arch_from_json(const Json& j, const std::string& where);
Arch parse_arch(const std::string& text, const std::string& where);

Json space_to_json(const Space& s);
Space space_from_json(const Json& j, const std::string& where);
Space load_space_file(const std::string& path);

// The architecture with every choice at its smallest: no other architecture of
// the space has fewer parameters or MACs.
Arch smallest_arch(const Space& s);

}  // namespace tern::nas
