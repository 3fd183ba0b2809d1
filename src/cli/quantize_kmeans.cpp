#include "cli/quantize_kmeans.h"

#include "cli/kmeans_report.h"
#include "core/error.h"
#include "quant/kmeans_model.h"

namespace tern::cli {

void run_quantize_kmeans(const KmeansQuantizeOptions& o) {
    auto ends_with = [](const std::string& s, const std::string& suffix) {
        return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (!ends_with(o.output, ".safetensors"))
        throw UsageError("--output", "--method kmeans writes a compressed classifier .safetensors, not '" + o.output + "'");
    const auto r = quant::kmeans_compress_file(o.model, o.output, {o.bits, o.index_bits, o.huffman});
    if (o.json) {
        Json j = kmeans_report_json(r.layers, o.model, r.bytes_before, o.output, r.bytes_after);
        j["method"] = "kmeans";
        j["bits"] = o.bits;
        j["huffman"] = o.huffman;
        print_json(j);
        return;
    }
    print_kmeans_report(r.layers, o.model, r.bytes_before, o.output, r.bytes_after);
}

}  // namespace tern::cli
