// libFuzzer target: decoding sparse24_q8 blocks (formats/sparse24_block.h)
// into ops::Linear's sparse kernel weights. Input: 1 byte of rows, 1 byte of
// 128-column blocks per row, then the blocks (zero-padded when short).
// Rejection must be a tern::InputError; accepted weights must run a decode
// step (forced onto the sparse kernel) and give finite outputs.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "formats/sparse24_block.h"
#include "ops/linear_sparse24.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const int64_t n = 1 + data[0] % 8, k = 128 * (1 + data[1] % 4);
    std::vector<uint8_t> blocks(static_cast<size_t>(n * k / tern::kSparse24Group) * sizeof(tern::Sparse24Block), 0);
    std::memcpy(blocks.data(), data + 2, std::min(blocks.size(), size - 2));
    try {
        const tern::ops::Sparse24Weights w(blocks.data(), n, k, "fuzz.gguf: blk.0.ffn_up.weight");
        std::vector<float> x(static_cast<size_t>(k), 0.5f), y(static_cast<size_t>(n));
        w.forward(x.data(), 1, y.data());
        // Finite scales and codes in [-127, 127] times 0.5: every output is finite
        // unless a scale near FLT_MAX overflows, which the validation allows.
        for (float v : y)
            if (std::isnan(v)) __builtin_trap();
    } catch (const tern::InputError&) {
    }
    return 0;
}
