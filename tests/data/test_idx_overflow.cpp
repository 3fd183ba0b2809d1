// An IDX header whose dims include a zero has 0 elements, so it passes the
// size check, yet the strides multiply the other dims: [0, 2^31-1, 2^31-1,
// 2^31-1] overflows int64 and must be refused, naming the file.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/idx.h"
#include "io/io_test_util.h"

namespace tern {
namespace {

std::vector<uint8_t> idx_header(const std::vector<uint32_t>& dims) {
    std::vector<uint8_t> b = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};  // u8 data
    for (uint32_t d : dims)
        for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
    return b;
}

TEST(IdxOverflow, ZeroDimWithHugeOthersIsRefusedNamingTheFile) {
    const uint32_t big = 0x7fffffff;
    for (const auto& dims : {std::vector<uint32_t>{0, big, big, big}, std::vector<uint32_t>{big, big, 0, big},
                             std::vector<uint32_t>{big, big, big, 0}}) {
        const auto bytes = idx_header(dims);
        try {
            parse_idx(bytes, "zero-dim.idx");
            ADD_FAILURE() << "no error";
        } catch (const InputError& e) {
            const std::string msg = e.what();
            EXPECT_NE(msg.find("zero-dim.idx"), std::string::npos) << msg;
            // Dims multiplied before the zero overflow the count check; after it, the stride check.
            EXPECT_TRUE(msg.find("overflow 64 bits") != std::string::npos || msg.find("more than 2^64") != std::string::npos)
                << msg;
        }
    }
    testio::TempDir dir;
    testio::write_bytes(dir.file("z.idx"), idx_header({0, big, big, big}));
    EXPECT_THROW(read_idx(dir.file("z.idx")), InputError);
}

TEST(IdxOverflow, EmptyTensorsWithFittingDimsStillRead) {
    const Tensor t = parse_idx(idx_header({0, 0x7fffffff, 0x7fffffff}), "empty.idx");
    EXPECT_EQ(t.numel(), 0);
    EXPECT_EQ(t.shape(), (Shape{0, 0x7fffffff, 0x7fffffff}));
}

}  // namespace
}  // namespace tern
