#pragma once
// NormalFloat4 (Dettmers et al., QLoRA 2023): 16 values built from quantiles of
// N(0,1), normalised to [-1, 1], with an exact zero. These are the published
// code values (as stored in float32); index 7 is 0.
#include <array>
#include <cstdint>

namespace tern {

inline constexpr std::array<float, 16> kNf4Values{
    -1.0f,
    -0.6961928009986877f,
    -0.5250730514526367f,
    -0.39491748809814453f,
    -0.28444138169288635f,
    -0.18477343022823334f,
    -0.09105003625154495f,
    0.0f,
    0.07958029955625534f,
    0.16093020141124725f,
    0.24611230194568634f,
    0.33791524171829224f,
    0.44070982985496216f,
    0.5626170039176941f,
    0.7229568362236023f,
    1.0f,
};

// Index of the value nearest to v (v already divided by the block absmax);
// an exact tie picks the smaller value so the choice is deterministic.
inline int nf4_nearest_index(float v) {
    int best = 0;
    float best_dist = v - kNf4Values[0] < 0 ? kNf4Values[0] - v : v - kNf4Values[0];
    for (int i = 1; i < 16; ++i) {
        const float dist = v - kNf4Values[i] < 0 ? kNf4Values[i] - v : v - kNf4Values[i];
        if (dist < best_dist) {
            best = i;
            best_dist = dist;
        }
    }
    return best;
}

}  // namespace tern
