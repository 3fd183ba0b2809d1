// ops::Attention validates its head layout once, at create, and its cache
// check names the mismatch; run() itself is compared with run_naive() in
// tests/llm/test_llm_attention.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "ops/attention.h"

namespace tern::ops {
namespace {

TEST(OpsAttention, BadLayoutsThrowAtCreate) {
    EXPECT_NO_THROW(Attention(8, 2, 16, 0.25f));
    EXPECT_THROW(Attention(6, 4, 16, 0.25f), InputError);  // 6 heads over 4 kv heads
    EXPECT_THROW(Attention(0, 1, 16, 0.25f), InputError);
    EXPECT_THROW(Attention(4, 0, 16, 0.25f), InputError);
    EXPECT_THROW(Attention(4, 2, 0, 0.25f), InputError);
    EXPECT_THROW(Attention(4, 2, 16, std::nanf("")), InputError);
    EXPECT_THROW(Attention(4, 2, 16, 0.0f), InputError);
}

TEST(OpsAttention, CacheOfAnotherLayoutIsRejected) {
    const Attention a(8, 2, 16, 0.25f);
    const KvCache good(3, 2, 16, 32, KvType::f32), heads(3, 4, 16, 32, KvType::f32), dim(3, 2, 8, 32, KvType::f16);
    EXPECT_NO_THROW(a.check_cache(good, 2));
    EXPECT_THROW(a.check_cache(good, 3), InputError);  // no such layer
    EXPECT_THROW(a.check_cache(heads, 0), InputError);
    EXPECT_THROW(a.check_cache(dim, 0), InputError);
}

}  // namespace
}  // namespace tern::ops
