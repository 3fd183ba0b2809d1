// w8a8 activation quantizer compiled for avx512 (act_quant.inc).
#include <cmath>

#include "kernels/w8a8/w8a8_matmul.h"

namespace tern {
#define W8A8_ACT_FN w8a8_quantize_activations_avx512
#include "kernels/w8a8/act_quant.inc"
#undef W8A8_ACT_FN
}  // namespace tern
