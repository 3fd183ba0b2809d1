#pragma once
// Image augmentation for training: padded random crop (pad by `pad` on every
// side with the background value, then crop back to H x W at a random offset)
// and random horizontal flip. The random draw for a sample depends only on
// (seed, epoch, sample index), so a sample's augmentation is the same whatever
// batch or thread prepares it.
#include <cstdint>
#include <span>

namespace tern::data {

struct AugmentConfig {
    int pad = 0;                   // crop shift range is [-pad, pad] in each direction
    bool horizontal_flip = false;  // mirror left-right with probability 1/2
    bool enabled() const { return pad > 0 || horizontal_flip; }
};

// One sample's random choices.
struct AugmentDraw {
    int shift_y = 0;  // output(y, x) reads input(y + shift_y, x + shift_x); in [-pad, pad]
    int shift_x = 0;
    bool flip = false;
};

AugmentDraw draw_augment(const AugmentConfig& cfg, uint64_t seed, int64_t epoch, int64_t sample);

// Applies `draw` to one image src (C, H, W) into dst (C, H, W); pixels shifted
// in from outside are background[c]. src and dst must not overlap.
void apply_augment(const float* src, float* dst, int64_t c, int64_t h, int64_t w, std::span<const float> background,
                   const AugmentDraw& draw);

}  // namespace tern::data
