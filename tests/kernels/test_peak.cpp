// The compute-peak probes are the denominators of every "fraction of peak":
// each must do the work it counts. With all-ones operands the sums are known
// integers, so a probe that skipped or miscounted instructions shows here.
#include <gtest/gtest.h>

#include "kernels/peak/peak.h"

namespace tern {
namespace {

TEST(Peak, Int8ProbesDoTheWorkTheyCount) {
    const int64_t iterations = 100;
    if (isa_supported(Isa::avx2)) {
        // 10 i16 chains, each + 2 (one pair of 1·1 products) per iteration; the
        // sink is lane 0 of their sum.
        int32_t sink = 0;
        EXPECT_EQ(kPeakAvx2.dot_u8s8(iterations, &sink), 2.0 * 32 * 10 * iterations);
        EXPECT_EQ(sink, 10 * 2 * iterations);
    }
    if (isa_supported(Isa::avx512)) {
        // 12 i32 chains of 16 lanes, each lane + 4 per iteration; the sink sums all lanes.
        int32_t sink = 0;
        EXPECT_EQ(kPeakAvx512.dot_u8s8(iterations, &sink), 2.0 * 64 * 12 * iterations);
        EXPECT_EQ(sink, 12 * 16 * 4 * iterations);
    }
}

}  // namespace
}  // namespace tern
