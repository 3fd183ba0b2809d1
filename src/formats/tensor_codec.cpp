#include "formats/tensor_codec.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "formats/nonfinite_scan.h"

namespace tern {

std::vector<float> tensor_to_f32(const Tensor& t, const std::string& name) {
    const int64_t n = t.numel();
    std::vector<float> out(static_cast<size_t>(n));
    if (n == 0) return out;
    if (!t.is_contiguous()) throw Error(name, "tensor_to_f32 needs a contiguous tensor");
    if (const FormatDescriptor* fmt = format_for_dtype(t.dtype())) {
        const int64_t rows = t.rank() == 0 ? 1 : n / t.dim(-1);
        const int64_t cols = n / rows;
        const uint64_t row_bytes = fmt->bytes_for(cols);
        const uint8_t* src = t.data<uint8_t>();
        parallel_for(rows, 64, [&](int64_t b, int64_t e) {
            for (int64_t r = b; r < e; ++r) fmt->dequantize(src + r * row_bytes, out.data() + r * cols, cols);
        });
        return out;
    }
    return t.to_floats();
}

Tensor quantize_tensor_rtn(const Tensor& src, const FormatDescriptor& fmt, const std::string& name) {
    if (!fmt.dtype) throw InputError(name, "format " + std::string(fmt.name) + " is not a tensor storage type");
    if (src.rank() < 1) throw InputError(name, "cannot quantize a scalar");
    const int64_t cols = src.dim(-1);
    if (cols % fmt.block_size != 0)
        throw InputError(name, format("row length %lld is not a multiple of the %s block size %u",
                                      static_cast<long long>(cols), std::string(fmt.name).c_str(), fmt.block_size));
    const std::vector<float> x = tensor_to_f32(src, name);
    for (float v : x)
        if (!std::isfinite(v)) throw InputError(name, "tensor holds NaN or Inf; refusing to quantize it");
    Tensor out = Tensor::empty(src.shape(), *fmt.dtype);
    const int64_t rows = cols == 0 ? 0 : src.numel() / cols;
    const uint64_t row_bytes = fmt.bytes_for(cols);
    uint8_t* dst = out.data<uint8_t>();
    parallel_for(rows, 16, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) fmt.quantize(x.data() + r * cols, dst + r * row_bytes, cols);
    });
    // Finite input, non-finite output: values (or block scales) beyond the
    // format's range became Inf. Refuse rather than write a file tern itself refuses.
    const NonfiniteScan overflow = scan_nonfinite(out);
    if (overflow.count) {
        float amax = 0;
        for (float v : x) amax = std::max(amax, std::fabs(v));
        const bool one = overflow.count == 1;
        const char* what = overflow.in_block_scales ? (one ? "block scale" : "block scales") : (one ? "value" : "values");
        throw InputError(name, format("|x| up to %g is beyond the range of %s: %llu %s would become Inf or NaN; "
                                      "keep this tensor in f32",
                                      amax, std::string(fmt.name).c_str(), (unsigned long long)overflow.count, what));
    }
    return out;
}

}  // namespace tern
