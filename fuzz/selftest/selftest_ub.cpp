// Planted undefined behaviour for scripts/run_fuzzers.sh's self-test: an input
// starting "UB!" overflows a signed int. Nothing else in tern links this.
#include <cstddef>
#include <cstdint>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 4 || std::memcmp(data, "UB!", 3) != 0) return 0;
    volatile int big = 0x7fffff00;
    const int sum = big + 0x100 + data[3];  // signed overflow: UBSan "runtime error:"
    asm volatile("" : : "r"(sum));  // keep the sum
    return 0;
}
