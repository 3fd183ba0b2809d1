#include "kernels/kernel_registry.h"

#include "kernels/elementwise/elementwise.h"
#include "kernels/gemm_bf16/gemm_bf16.h"
#include "kernels/gemm_f32/gemm_f32.h"
#include "kernels/gemm_q8/gemm_q8.h"
#include "kernels/gemv_f16/gemv_f16.h"
#include "kernels/quant_matmul/quant_matmul.h"
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
        describe("elementwise", elementwise(), elementwise_variants()),
        describe("stream", stream_kernels(), stream_variants()),
        describe("gemm_f32", gemm_f32_kernel(), gemm_f32_supported_kernels()),
        describe("gemm_bf16", gemm_bf16_kernel(), gemm_bf16_supported_kernels()),
        describe("gemm_q8", gemm_q8_kernel(), gemm_q8_supported_kernels()),
        describe("quant_matmul", quant_matmul_kernels(), quant_matmul_variants()),
        describe("gemv_f16", gemv_f16_kernel(), gemv_f16_variants()),
    };
}

}  // namespace tern
