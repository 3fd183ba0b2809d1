// The int4 group-wise asymmetric rows come from the formats family's reference
// (int4_asym_g{32,64,128}): one definition of the format in the tree.
#include "kernels/quant_matmul/int4_asym.h"

#include <string>

#include "formats/format.h"

namespace tern {
namespace {

const FormatDescriptor& int4_asym_format(int group) {
    return format_by_name("int4_asym_g" + std::to_string(group));
}

}  // namespace

void quantize_row_int4_asym(const float* x, uint8_t* blocks, int64_t k, int group) {
    int4_asym_format(group).quantize(x, blocks, k);
}

void dequantize_row_int4_asym(const uint8_t* blocks, float* y, int64_t k, int group) {
    int4_asym_format(group).dequantize(blocks, y, k);
}

}  // namespace tern
