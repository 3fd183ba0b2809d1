#include "cli/kmeans_report.h"

#include <cstdio>

#include "core/table.h"

namespace tern::cli {

void print_kmeans_report(const std::vector<quant::KmeansLayerReport>& layers, const std::string& input, uint64_t input_bytes,
                         const std::string& output, uint64_t output_bytes) {
    TextTable t({"layer", "weights", "nonzero", "shared values", "bytes", "bits/weight", "bits/nonzero"});
    for (const auto& l : layers)
        t.add_row({l.name, std::to_string(l.weights), std::to_string(l.nonzero), std::to_string(l.codebook),
                   std::to_string(l.bytes), fmt_fixed(l.bits_per_weight(), 3), fmt_fixed(l.bits_per_nonzero(), 3)});
    t.print();
    std::printf("%s %llu bytes -> %s %llu bytes (%.2fx smaller)\n", input.c_str(), static_cast<unsigned long long>(input_bytes),
                output.c_str(), static_cast<unsigned long long>(output_bytes),
                output_bytes ? static_cast<double>(input_bytes) / static_cast<double>(output_bytes) : 0.0);
}

Json kmeans_report_json(const std::vector<quant::KmeansLayerReport>& layers, const std::string& input, uint64_t input_bytes,
                        const std::string& output, uint64_t output_bytes) {
    Json rows = Json::array();
    for (const auto& l : layers)
        rows.push_back({{"layer", l.name},
                        {"weights", l.weights},
                        {"nonzero", l.nonzero},
                        {"shared_values", l.codebook},
                        {"bytes", l.bytes},
                        {"bits_per_weight", l.bits_per_weight()},
                        {"bits_per_nonzero", l.bits_per_nonzero()}});
    return {{"input", input},
            {"input_bytes", input_bytes},
            {"output", output},
            {"output_bytes", output_bytes},
            {"ratio", output_bytes ? static_cast<double>(input_bytes) / static_cast<double>(output_bytes) : 0.0},
            {"layers", rows}};
}

}  // namespace tern::cli
