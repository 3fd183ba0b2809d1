#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/pack/pack.h"

namespace tern {
namespace {

// The truth, written independently of every variant: unit g of row r lands at
// out[(g * mr + r) * 4]; nothing else is written.
std::vector<uint8_t> expected(const std::vector<uint8_t>& src, int64_t ld, int live, int64_t units, int mr,
                              std::vector<uint8_t> out) {
    for (int64_t g = 0; g < units; ++g)
        for (int r = 0; r < live; ++r)
            for (int b = 0; b < 4; ++b) out[static_cast<size_t>((g * mr + r) * 4 + b)] = src[static_cast<size_t>(r * ld + 4 * g + b)];
    return out;
}

TEST(Pack, EveryVariantMatchesTheDefinition) {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int mr : {4, 6, 8, 12, 16})
        for (int live = 1; live <= mr; ++live)
            for (int64_t units : {0, 1, 3, 7, 8, 15, 16, 17, 33, 255})
                for (int64_t extra : {0, 5}) {  // row stride past the packed bytes, odd on purpose
                    const int64_t ld = 4 * units + extra;
                    std::vector<uint8_t> src(static_cast<size_t>(ld * live + 1));
                    for (auto& b : src) b = static_cast<uint8_t>(byte(rng));
                    // A sentinel fill shows writes outside the live rows.
                    const std::vector<uint8_t> blank(static_cast<size_t>(units * mr * 4 + 64), 0xA5);
                    const std::vector<uint8_t> want = expected(src, ld, live, units, mr, blank);
                    for (const auto* k : pack_variants()) {
                        std::vector<uint8_t> out = blank;
                        k->rows_u32(src.data(), ld, live, units, mr, out.data());
                        ASSERT_EQ(out, want) << k->name << " mr " << mr << " live " << live << " units " << units
                                             << " ld " << ld;
                    }
                }
}

}  // namespace
}  // namespace tern
