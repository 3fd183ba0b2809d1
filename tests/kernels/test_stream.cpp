#include <gtest/gtest.h>

#include <vector>

#include "core/tensor.h"
#include "kernels/stream/stream.h"

namespace tern {
namespace {

// Odd and even counts of 64-float blocks: the AVX-512 loop takes two blocks a step.
TEST(Stream, EveryVariantSumsExactly) {
    for (const int64_t blocks : {1, 2, 37, 38}) {
        const int64_t n = 64 * blocks;
        auto* p = static_cast<float*>(aligned_alloc_bytes(n * sizeof(float)));
        for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(i % 5);  // small integers: exact in f32
        double want = 0;
        for (int64_t i = 0; i < n; ++i) want += p[i];
        for (const auto* k : stream_variants())
            EXPECT_EQ(k->read_sum(p, n), static_cast<float>(want)) << k->name << " n=" << n;
        aligned_free_bytes(p);
    }
}

}  // namespace
}  // namespace tern
