#include "nn/data/augment.h"

#include "nn/data/rng.h"

namespace tern::data {

AugmentDraw draw_augment(const AugmentConfig& cfg, uint64_t seed, int64_t epoch, int64_t sample) {
    AugmentDraw d;
    if (!cfg.enabled()) return d;
    Rng rng(mix_seed(seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(sample)));
    if (cfg.pad > 0) {
        const uint64_t span = 2 * static_cast<uint64_t>(cfg.pad) + 1;
        d.shift_y = static_cast<int>(rng.below(span)) - cfg.pad;
        d.shift_x = static_cast<int>(rng.below(span)) - cfg.pad;
    }
    if (cfg.horizontal_flip) d.flip = rng.coin();
    return d;
}

void apply_augment(const float* src, float* dst, int64_t c, int64_t h, int64_t w, std::span<const float> background,
                   const AugmentDraw& draw) {
    for (int64_t ch = 0; ch < c; ++ch) {
        const float bg = background.empty() ? 0.f : background[static_cast<size_t>(ch)];
        const float* in = src + ch * h * w;  // (H, W)
        float* out = dst + ch * h * w;       // (H, W)
        for (int64_t y = 0; y < h; ++y) {
            const int64_t sy = y + draw.shift_y;
            float* row = out + y * w;
            if (sy < 0 || sy >= h) {
                for (int64_t x = 0; x < w; ++x) row[x] = bg;
                continue;
            }
            const float* in_row = in + sy * w;
            for (int64_t x = 0; x < w; ++x) {
                // Crop first, then mirror the cropped image.
                const int64_t cx = draw.flip ? (w - 1 - x) : x;
                const int64_t sx = cx + draw.shift_x;
                row[x] = (sx < 0 || sx >= w) ? bg : in_row[sx];
            }
        }
    }
}

}  // namespace tern::data
