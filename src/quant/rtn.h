#pragma once
// Round-to-nearest (RTN) quantization of whole tensors into any storage format:
// rows (the last dimension) are decoded to f32 and re-encoded block by block
// with the format's reference quantizer, in parallel over rows.
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "formats/format.h"
#include "formats/tensor_codec.h"  // tensor_to_f32, quantize_tensor_rtn
#include "io/named_tensor.h"

namespace tern {

struct QuantizeReportRow {
    std::string name;
    std::string from_dtype, to_dtype;
    uint64_t bytes_before = 0, bytes_after = 0;
    double rel_rms = -1;  // measured when asked; -1 otherwise
    std::string note;     // why a tensor was kept as it was
};

struct QuantizeOptions {
    const FormatDescriptor* format = nullptr;
    bool measure_error = false;
    // Tensors of rank < 2 (norms, biases) stay as they are, like llama.cpp does.
    int min_rank = 2;
    // Per-tensor choice (mixed presets such as Q4_K_M); null, or returning
    // null, means `format`.
    std::function<const FormatDescriptor*(const NamedTensor&)> format_for;
};

// Quantizes every eligible tensor; others are copied. Returns the new tensors
// (owned memory) and one report row per tensor.
std::vector<NamedTensor> quantize_tensors_rtn(const std::vector<NamedTensor>& in, const QuantizeOptions& opts,
                                              std::vector<QuantizeReportRow>& report);

}  // namespace tern
