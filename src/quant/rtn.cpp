#include "quant/rtn.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/progress.h"
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

std::vector<NamedTensor> quantize_tensors_rtn(const std::vector<NamedTensor>& in, const QuantizeOptions& opts,
                                              std::vector<QuantizeReportRow>& report) {
    if (!opts.format) throw UsageError("quantize", "no target format");
    std::vector<NamedTensor> out;
    out.reserve(in.size());
    Progress progress("quantize", static_cast<int64_t>(in.size()));
    for (size_t i = 0; i < in.size(); ++i) {
        const NamedTensor& nt = in[i];
        const FormatDescriptor* chosen = opts.format_for ? opts.format_for(nt) : nullptr;
        const FormatDescriptor& fmt = chosen ? *chosen : *opts.format;
        QuantizeReportRow row;
        row.name = nt.name;
        row.from_dtype = std::string(dtype_name(nt.tensor.dtype()));
        row.bytes_before = nt.tensor.nbytes();
        Tensor result;
        if (nt.tensor.rank() < opts.min_rank) {
            row.note = "kept (rank < 2)";
        } else if (nt.tensor.dim(-1) % fmt.block_size != 0) {
            row.note = format("kept (row %lld not a multiple of %u)", static_cast<long long>(nt.tensor.dim(-1)),
                              fmt.block_size);
        } else if (!format_for_dtype(nt.tensor.dtype()) && dtype_info(nt.tensor.dtype()).is_float == false) {
            row.note = "kept (integer tensor)";
        } else {
            result = quantize_tensor_rtn(nt.tensor, fmt, nt.name);
            if (opts.measure_error) {
                const auto x = tensor_to_f32(nt.tensor, nt.name);
                const auto y = tensor_to_f32(result, nt.name);
                double s = 0, e = 0;
                for (size_t j = 0; j < x.size(); ++j) {
                    s += static_cast<double>(x[j]) * x[j];
                    e += (static_cast<double>(x[j]) - y[j]) * (static_cast<double>(x[j]) - y[j]);
                }
                row.rel_rms = s > 0 ? std::sqrt(e / s) : 0;
            }
        }
        if (!result.defined()) result = nt.tensor.clone();
        row.to_dtype = std::string(dtype_name(result.dtype()));
        row.bytes_after = result.nbytes();
        report.push_back(row);
        out.push_back({nt.name, result});
        progress.update(static_cast<int64_t>(i + 1), nt.name);
    }
    return out;
}

}  // namespace tern
