#pragma once
// Finds NaN and ±Inf in stored tensors without decoding them: a test on the
// exponent field of every value (f32, f16, bf16, f64, fp8) or of every GGUF
// block's scales, in loops the compiler vectorizes. Loaders run it once per
// tensor, so a broken checkpoint is refused by name instead of turning into
// garbage output (NaN weights give NaN logits, argmax 0, "PPL = nan").
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace tern {

struct NonfiniteScan {
    uint64_t count = 0;            // non-finite values (block formats: block scales)
    int64_t first = -1;            // index of the first: element, or block for block formats
    bool first_is_nan = false;     // else ±Inf
    bool in_block_scales = false;  // a GGUF block tensor: count and first are about its scales
};

// Integer and boolean tensors never hold one. Non-contiguous tensors are copied first.
NonfiniteScan scan_nonfinite(const Tensor& t);

// Non-finite values among n floats (the same bit test, for activations and logits).
uint64_t count_nonfinite(const float* x, int64_t n);

// "tensor 'NAME' holds 3 non-finite values (the first, NaN, at element 17)"; empty when none.
std::string describe_nonfinite(const NonfiniteScan& s, const std::string& name);

// Throws InputError(file, describe_nonfinite(...) + hint) when `t` holds any.
void require_finite_tensor(const Tensor& t, const std::string& file, const std::string& name,
                           const std::string& hint = "");

}  // namespace tern
