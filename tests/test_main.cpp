#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "core/cpu_features.h"

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    // The isa_* suites (tests/CMakeLists.txt) rerun everything with a narrower
    // instruction set forced. One whose level is the CPU's best (avx2 on an
    // AVX2-only machine, or any level this CPU lacks, which falls back to the
    // best) would only repeat the default suite, so it reports that and stops.
    if (std::getenv("TERN_ISA_SUITE") && tern::active_isa() == tern::best_supported_isa()) {
        std::printf("TERN_ISA=%s is this CPU's best level: the default suite already ran it; skipped\n",
                    std::getenv("TERN_ISA") ? std::getenv("TERN_ISA") : "");
        return 0;
    }
    return RUN_ALL_TESTS();
}
