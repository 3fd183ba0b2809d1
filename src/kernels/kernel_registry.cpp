#include "kernels/kernel_registry.h"

#include "kernels/bitserial/bitserial.h"
#include "kernels/conv/conv.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/gemm_bf16/gemm_bf16.h"
#include "kernels/gemm_f32/gemm_f32.h"
#include "kernels/gemm_q8/gemm_q8.h"
#include "kernels/gemv_f16/gemv_f16.h"
#include "kernels/pack/pack.h"
#include "kernels/peak/peak.h"
#include "kernels/quant_matmul/quant_matmul.h"
#include "kernels/sparse/sparse.h"
#include "kernels/stream/stream.h"

namespace tern {
namespace {

template <class Table, class Variants>
KernelFamilyInfo describe(const char* family, const Table& chosen, Variants variants) {
    KernelFamilyInfo info{family, chosen.name, {}};
    for (const auto* v : variants) info.variants.push_back(v->name);
    return info;
}

}  // namespace

std::vector<KernelFamilyInfo> kernel_families() {
    return {
        describe("elementwise", elementwise_kernel(), elementwise_variants()),
        describe("stream", stream_kernel(), stream_variants()),
        describe("gemm_f32", gemm_f32_kernel(), gemm_f32_variants()),
        describe("gemm_bf16", gemm_bf16_kernel(), gemm_bf16_variants()),
        describe("gemm_q8", gemm_q8_kernel(), gemm_q8_variants()),
        describe("gemv_f16", gemv_f16_kernel(), gemv_f16_variants()),
        describe("quant_matmul", quant_matmul_kernel(), quant_matmul_variants()),
        describe("conv", conv_kernel(), conv_variants()),
        describe("sparse", sparse_kernel(), sparse_variants()),
        describe("pack", pack_kernel(), pack_variants()),
        describe("peak", peak_kernel(), peak_variants()),
        describe("bit_gemm", bit_gemm_kernel(), bit_gemm_variants()),
    };
}

}  // namespace tern
