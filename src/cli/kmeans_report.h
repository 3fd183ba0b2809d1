#pragma once
// The report of a K-means shared (compressed) classifier, for `tern quantize
// --method kmeans` and `tern train` with a "kmeans" section: per layer its
// weights, nonzeros, shared values and bits, then the two files' sizes.
#include <cstdint>
#include <string>
#include <vector>

#include "core/json_out.h"
#include "quant/kmeans_model.h"

namespace tern::cli {

void print_kmeans_report(const std::vector<quant::KmeansLayerReport>& layers, const std::string& input, uint64_t input_bytes,
                         const std::string& output, uint64_t output_bytes);
Json kmeans_report_json(const std::vector<quant::KmeansLayerReport>& layers, const std::string& input, uint64_t input_bytes,
                        const std::string& output, uint64_t output_bytes);

}  // namespace tern::cli
