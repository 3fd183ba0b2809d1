// The packed GEMM families (f32, bf16, q8) through one typed suite: every
// variant this CPU supports against its reference (gemm_test_traits.h holds each
// dtype's operands and error budget) on awkward shapes, every transpose the
// family takes, its epilogues across K blocks, raw and prepacked B, one and two
// threads. Family-specific tests stay in test_gemm_<dtype>.cpp.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "gemm_test_traits.h"

namespace tern {
namespace {

using gemm_test::Shape3;

template <class Traits>
class GemmFamily : public ::testing::Test {
protected:
    using Case = gemm_test::Case<typename Traits::Epilogue>;
    // Transposes of A the family takes (q8 reads A as stored only).
    static std::vector<bool> trans_a_options() {
        if (Traits::kTransA) return {false, true};
        return {false};
    }
};

struct TraitsName {
    template <class T>
    static std::string GetName(int) {
        return T::kName;
    }
};

using Families = ::testing::Types<gemm_test::F32Traits, gemm_test::Bf16Traits, gemm_test::Q8Traits>;
TYPED_TEST_SUITE(GemmFamily, Families, TraitsName);

TYPED_TEST(GemmFamily, TableAndChosenVariant) {
    EXPECT_GE(TypeParam::table().size(), 3u);
    EXPECT_TRUE(isa_supported(TypeParam::chosen().isa));
    EXPECT_LE(TypeParam::chosen().isa, active_isa());
    ASSERT_FALSE(TypeParam::variants().empty());
    EXPECT_EQ(TypeParam::variants().front()->isa, Isa::scalar);
}

TYPED_TEST(GemmFamily, AwkwardShapesAllTransposes) {
    ThreadPool pool(1);
    uint32_t seed = 1;
    for (const auto* kernel : TypeParam::variants())
        for (const auto& s : gemm_test::awkward_shapes())
            for (bool ta : TestFixture::trans_a_options())
                for (bool tb : {false, true})
                    for (const auto& e : TypeParam::outputs())
                        TypeParam::check(*kernel, pool, {s, ta, tb, e}, seed++);
}

// K = 4200 spans several K blocks of every variant that blocks K: beta must apply
// on the first block only, bias and activation on the last.
TYPED_TEST(GemmFamily, EpiloguesAcrossKBlocks) {
    ThreadPool pool(1);
    uint32_t seed = 100;
    for (const auto* kernel : TypeParam::variants())
        for (const auto& s : {Shape3{7, 33, 300}, Shape3{33, 45, 17}, Shape3{1, 5, 1}, Shape3{14, 40, 4200}})
            for (const auto& e : TypeParam::epilogues()) {
                TypeParam::check(*kernel, pool, {s, false, true, e}, seed++);
                TypeParam::check(*kernel, pool, {s, TypeParam::kTransA, false, e}, seed++);
            }
}

TYPED_TEST(GemmFamily, PrepackedBAndTwoThreads) {
    ThreadPool pool(2);
    uint32_t seed = 200;
    for (const auto* kernel : TypeParam::variants())
        for (const auto& s : {Shape3{200, 300, 64}, Shape3{40, 1100, 300}, Shape3{1, 2100, 260}, Shape3{1, 2100, 1100},
                              Shape3{100, 300, 200}, Shape3{9, 7, 5}, Shape3{13, 70, 4200}})
            for (bool prepack : {false, true}) {
                if (!prepack && !TypeParam::kUnpackedB) continue;
                TypeParam::check(*kernel, pool, {s, false, false, TypeParam::epilogues().back(), prepack}, seed++);
                for (const auto& e : TypeParam::outputs())
                    TypeParam::check(*kernel, pool, {s, TypeParam::kTransA, true, e, prepack}, seed++);
            }
}

TYPED_TEST(GemmFamily, ZeroKAppliesEpilogueOnly) {
    ThreadPool pool(1);
    for (const auto* kernel : TypeParam::variants())
        for (const auto& e : TypeParam::epilogues()) TypeParam::check(*kernel, pool, {{5, 19, 0}, false, false, e}, 7);
}

// Weights packed once and B packed per call go through the same micro-panels and
// the same K blocks, so C must be the same bits, not merely within budget. Only
// the families that take B unpacked (q8 takes packed weights only).
template <class Traits>
class GemmFamilyUnpackedB : public GemmFamily<Traits> {};
using FamiliesWithUnpackedB = ::testing::Types<gemm_test::F32Traits, gemm_test::Bf16Traits>;
TYPED_TEST_SUITE(GemmFamilyUnpackedB, FamiliesWithUnpackedB, TraitsName);

TYPED_TEST(GemmFamilyUnpackedB, PackedAndUnpackedBGiveIdenticalBits) {
    static_assert(TypeParam::kUnpackedB);
    for (int threads : {1, 2}) {
        ThreadPool pool(threads);
        uint32_t seed = 300;
        for (const auto* kernel : TypeParam::variants())
            for (const auto& s : {Shape3{13, 70, 4200}, Shape3{40, 1100, 300}, Shape3{1, 2100, 260}, Shape3{9, 7, 5}})
                for (bool t : {false, true}) {
                    typename TestFixture::Case cs{s, t, t, TypeParam::epilogues().back()};
                    const auto raw = TypeParam::run(*kernel, pool, cs, seed);
                    cs.prepack = true;
                    const auto packed = TypeParam::run(*kernel, pool, cs, seed);
                    ASSERT_EQ(raw.size(), packed.size());
                    EXPECT_EQ(std::memcmp(raw.data(), packed.data(), raw.size() * sizeof(raw[0])), 0)
                        << kernel->name << " m=" << s.m << " n=" << s.n << " k=" << s.k << " trans=" << t
                        << " threads=" << threads;
                    ++seed;
                }
    }
}

}  // namespace
}  // namespace tern
