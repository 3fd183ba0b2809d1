#include "quant/rtn.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "formats/nonfinite_scan.h"

namespace tern {

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
