// check_output_path refuses, before any work, outputs that cannot be created
// or that are one of the command's inputs; the checked_* helpers refuse
// wrapped products and sums; shapes whose strides overflow are refused.
#include <gtest/gtest.h>

#include <unistd.h>

#include <climits>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>

#include "core/checked.h"
#include "core/error.h"
#include "core/output_path.h"
#include "core/tensor.h"
#include "io/io_test_util.h"

namespace tern {
namespace {

template <class E>
void expect_error(const std::function<void()>& f, const std::string& needle) {
    try {
        f();
        ADD_FAILURE() << "no error, expected one containing '" << needle << "'";
    } catch (const E& e) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

TEST(OutputPath, AcceptsAFreshOrExistingFileInAWritableFolder) {
    testio::TempDir dir;
    EXPECT_NO_THROW(check_output_path(dir.file("new.gguf"), {dir.file("model.gguf")}, {".metrics.csv"}));
    testio::write_bytes(dir.file("old.gguf"), {1, 2, 3});
    EXPECT_NO_THROW(check_output_path(dir.file("old.gguf"), {dir.file("model.gguf"), ""}));
}

TEST(OutputPath, RefusesFoldersThatCannotTakeTheFile) {
    testio::TempDir dir;
    expect_error<IoError>([&] { check_output_path(dir.file("missing/out.gguf")); }, "does not exist");
    testio::write_bytes(dir.file("plain"), {1});
    expect_error<IoError>([&] { check_output_path(dir.file("plain/out.gguf")); }, "is not a folder");
    std::filesystem::create_directory(dir.file("sub"));
    expect_error<IoError>([&] { check_output_path(dir.file("sub")); }, "is a folder");
    expect_error<IoError>([&] { check_output_path(dir.file("sub/")); }, "is a folder");
    expect_error<IoError>([&] { check_output_path("/dev/null"); }, "not a regular file");
}

TEST(OutputPath, RefusesNamesLongerThanTheFilesystemAllows) {
    testio::TempDir dir;
    const std::string fits(NAME_MAX - 12, 'a');  // fits alone, not with ".metrics.csv" + 1
    EXPECT_NO_THROW(check_output_path(dir.file(fits)));
    expect_error<IoError>([&] { check_output_path(dir.file(fits + "x"), {}, {".metrics.csv"}); }, "allows at most");
    expect_error<IoError>([&] { check_output_path(dir.file(std::string(NAME_MAX + 1, 'b'))); }, "allows at most");
}

TEST(OutputPath, RefusesAnInputBySpellingLinkOrSidecar) {
    testio::TempDir dir;
    const std::string in = dir.file("recipe.json");
    testio::write_bytes(in, {'{', '}'});
    expect_error<UsageError>([&] { check_output_path(in, {in}); }, "overwrite the input");
    expect_error<UsageError>([&] { check_output_path(dir.path() + "/./recipe.json", {in}); }, "overwrite the input");
    ASSERT_EQ(::link(in.c_str(), dir.file("hard.json").c_str()), 0);
    expect_error<UsageError>([&] { check_output_path(dir.file("hard.json"), {in}); }, "overwrite the input");
    std::filesystem::create_symlink(in, dir.file("soft.json"));
    expect_error<UsageError>([&] { check_output_path(dir.file("soft.json"), {in}); }, "overwrite the input");
    // A sidecar (out + suffix) that is an input counts too.
    expect_error<UsageError>([&] { check_output_path(dir.file("recipe"), {in}, {".json"}); }, "overwrite the input");
    EXPECT_TRUE(same_file(in, dir.file("hard.json")));
    EXPECT_FALSE(same_file(in, dir.file("other.json")));
}

TEST(Checked, MulAndAddThrowOnlyOnOverflow) {
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    EXPECT_EQ(checked_mul(int64_t{3037000499}, int64_t{3037000499}, "x"), int64_t{9223372030926249001});
    EXPECT_EQ(checked_mul(int64_t{0}, kMax, "x"), 0);
    EXPECT_EQ(checked_mul(int64_t{-1}, kMax, "x"), -kMax);
    EXPECT_THROW(checked_mul(int64_t{3037000500}, int64_t{3037000500}, "x"), InputError);
    EXPECT_THROW(checked_mul(int64_t{-1}, std::numeric_limits<int64_t>::min(), "x"), InputError);
    EXPECT_EQ(checked_mul(uint64_t{1} << 32, (uint64_t{1} << 32) - 1, "x"), (uint64_t{1} << 32) * ((uint64_t{1} << 32) - 1));
    EXPECT_THROW(checked_mul(uint64_t{1} << 32, uint64_t{1} << 32, "x"), InputError);
    EXPECT_EQ(checked_add(kMax - 1, int64_t{1}, "x"), kMax);
    EXPECT_THROW(checked_add(kMax, int64_t{1}, "x"), InputError);
    EXPECT_THROW(checked_add(uint32_t{UINT32_MAX}, uint32_t{1}, "x"), InputError);
    // The case that used to wrap: --chunks 2^61+1 times --ctx 8 is 2^64 + 8.
    expect_error<UsageError>([] { checked_mul<UsageError>(int64_t{2305843009213693953}, int64_t{8}, "--chunks"); },
                             "[--chunks] 2305843009213693953 x 8 overflows 64-bit");
}

TEST(Checked, StridesOfAShapeWithAZeroDimMustFit) {
    const int64_t big = INT32_MAX;
    EXPECT_EQ(shape_numel({0, big, big, big}), 0) << "the element count alone fits";
    expect_error<InputError>([&] { contiguous_strides({0, big, big, big}); }, "overflow 64 bits");
    expect_error<InputError>([&] { Tensor::empty({0, big, big, big}, DType::u8); }, "overflow 64 bits");
    EXPECT_EQ(contiguous_strides({0, big, big}), (Shape{big * big, big, 1}));
    EXPECT_EQ(Tensor::empty({big, 0}, DType::f32).numel(), 0);
}

}  // namespace
}  // namespace tern
