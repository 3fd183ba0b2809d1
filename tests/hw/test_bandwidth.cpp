#include <gtest/gtest.h>

#include <vector>

#include "core/tensor.h"
#include "hw/bandwidth.h"

namespace tern {
namespace {

// The probe's bookkeeping (its speed is checked in long_bandwidth.cpp): the
// buffer rounds up to whole 2 MiB pages, one run per rep, median <= best.
TEST(Bandwidth, ProbeReportsItsBufferRunsAndHugePages) {
    BandwidthProbe probe((uint64_t{4} << 20) + 1);
    EXPECT_EQ(probe.bytes(), uint64_t{6} << 20);
    const BandwidthResult r = probe.measure(3);
    EXPECT_EQ(r.bytes, probe.bytes());
    ASSERT_EQ(r.runs_gbps.size(), 3u);
    EXPECT_GT(r.median_gbps, 0);
    EXPECT_LE(r.median_gbps, r.best_gbps);
    EXPECT_LE(r.huge_page_bytes, r.bytes);
    EXPECT_TRUE(r.thp_mode.empty() || r.thp_mode == "always" || r.thp_mode == "madvise" || r.thp_mode == "never")
        << r.thp_mode;
}

// /proc/self/smaps is read for the buffer's own mapping: a small heap buffer
// has no huge pages, a touched 2 MiB-aligned madvised one does where THP is on.
TEST(Bandwidth, HugePageBytesCountsOnlyTheBufferAsked) {
    std::vector<char> small(4096, 1);
    EXPECT_EQ(huge_page_bytes_of(small.data(), small.size()), 0u);
    const uint64_t bytes = uint64_t{16} << 20;
    auto* p = static_cast<char*>(aligned_alloc_bytes(bytes));
    for (uint64_t i = 0; i < bytes; i += 4096) p[i] = 1;
    const uint64_t huge = huge_page_bytes_of(p, bytes);
    EXPECT_LE(huge, bytes);
    if (transparent_huge_page_mode() == "never") {
        EXPECT_EQ(huge, 0u);
    }
    aligned_free_bytes(p);
}

}  // namespace
}  // namespace tern
