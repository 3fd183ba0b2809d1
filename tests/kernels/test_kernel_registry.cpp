// Every kernel family is listed once in kernel_families() (what `tern info --cpu`
// prints), and each family's variant list starts with the scalar reference,
// holds only variants this CPU runs, and contains the chosen one.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <string>

#include "cli/cli_runner.h"
#include "kernels/bitserial/bitserial.h"
#include "kernels/conv/conv.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/gemm_bf16/gemm_bf16.h"
#include "kernels/gemm_f32/gemm_f32.h"
#include "kernels/gemm_q8/gemm_q8.h"
#include "kernels/gemv_f16/gemv_f16.h"
#include "kernels/kernel_registry.h"
#include "kernels/pack/pack.h"
#include "kernels/peak/peak.h"
#include "kernels/quant_matmul/quant_matmul.h"
#include "kernels/sparse/sparse.h"
#include "kernels/stream/stream.h"

namespace tern {
namespace {

const std::set<std::string> kAllFamilies = {"elementwise", "stream", "gemm_f32", "gemm_bf16", "gemm_q8",
                                            "gemv_f16",    "quant_matmul", "conv", "pack",     "peak", "sparse", "bit_gemm"};

TEST(KernelRegistry, ListsEveryFamilyOnce) {
    std::set<std::string> seen;
    for (const auto& fam : kernel_families()) EXPECT_TRUE(seen.insert(fam.family).second) << fam.family << " twice";
    EXPECT_EQ(seen, kAllFamilies);
}

TEST(KernelRegistry, VariantsStartWithScalarAndHoldTheChosenOne) {
    for (const auto& fam : kernel_families()) {
        ASSERT_FALSE(fam.variants.empty()) << fam.family;
        const std::string& first = fam.variants.front();
        EXPECT_TRUE(first.size() > 7 && first.ends_with("_scalar")) << fam.family << ": " << first;
        EXPECT_NE(std::find(fam.variants.begin(), fam.variants.end(), fam.chosen), fam.variants.end())
            << fam.family << ": chosen " << fam.chosen << " is not among its variants";
        const std::set<std::string> unique(fam.variants.begin(), fam.variants.end());
        EXPECT_EQ(unique.size(), fam.variants.size()) << fam.family << " repeats a variant name";
    }
}

// The typed lists themselves (the names above could agree by accident).
template <class Kernel, class Variants>
void check_family(const char* family, const Kernel& chosen, Variants variants) {
    ASSERT_FALSE(variants.empty()) << family;
    EXPECT_EQ(variants.front()->isa, Isa::scalar) << family;
    bool has_chosen = false;
    Isa prev = Isa::scalar;
    for (const Kernel* v : variants) {
        EXPECT_TRUE(isa_supported(v->isa)) << family << ": " << v->name;
        EXPECT_LE(prev, v->isa) << family << ": not in ISA order at " << v->name;
        prev = v->isa;
        has_chosen |= v == &chosen;
    }
    EXPECT_TRUE(has_chosen) << family << ": " << chosen.name;
    EXPECT_LE(chosen.isa, active_isa()) << family;
}

TEST(KernelRegistry, EveryFamilyHasKernelAndVariants) {
    check_family("elementwise", elementwise_kernel(), elementwise_variants());
    check_family("stream", stream_kernel(), stream_variants());
    check_family("gemm_f32", gemm_f32_kernel(), gemm_f32_variants());
    check_family("gemm_bf16", gemm_bf16_kernel(), gemm_bf16_variants());
    check_family("gemm_q8", gemm_q8_kernel(), gemm_q8_variants());
    check_family("gemv_f16", gemv_f16_kernel(), gemv_f16_variants());
    check_family("quant_matmul", quant_matmul_kernel(), quant_matmul_variants());
    check_family("conv", conv_kernel(), conv_variants());
    check_family("pack", pack_kernel(), pack_variants());
    check_family("peak", peak_kernel(), peak_variants());
    check_family("sparse", sparse_kernel(), sparse_variants());
    check_family("bit_gemm", bit_gemm_kernel(), bit_gemm_variants());
}

TEST(KernelRegistry, InfoCpuJsonShowsEveryFamily) {
    const auto r = testcli::run_tern("info --cpu --json");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    for (const auto& family : kAllFamilies) {
        ASSERT_TRUE(j["kernels"].contains(family)) << family;
        EXPECT_FALSE(j["kernels"][family]["variants"].empty()) << family;
    }
}

}  // namespace
}  // namespace tern
