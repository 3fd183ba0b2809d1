#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/cpu_features.h"

// Exit status of an isa_* rerun that does not run (tests/CMakeLists.txt marks
// it SKIP_RETURN_CODE, so ctest reports it "Skipped", never "Passed").
constexpr int kIsaSuiteNotRun = 77;

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    // The isa_* suites (tests/CMakeLists.txt) rerun everything with a narrower
    // instruction set forced. One whose level is the CPU's best (avx2 on an
    // AVX2-only machine, or any level this CPU lacks, which falls back to the
    // best) would only repeat the default suite, so it says so and reports a
    // skip; scripts/test.sh counts those skips to print which ISA paths ran.
    if (std::getenv("TERN_ISA_SUITE") && tern::active_isa() == tern::best_supported_isa()) {
        const char* isa = std::getenv("TERN_ISA") ? std::getenv("TERN_ISA") : "";
        std::printf("TERN_ISA=%s: not run, %s is this CPU's best level (%s), which the default suite already ran\n",
                    isa, std::string(tern::isa_name(tern::active_isa())).c_str(),
                    std::string(tern::isa_name(tern::best_supported_isa())).c_str());
        return kIsaSuiteNotRun;
    }
    return RUN_ALL_TESTS();
}
