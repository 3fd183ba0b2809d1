#include "core/dtype.h"

#include <array>

#include "core/error.h"

namespace tern {
namespace {

constexpr std::array<DTypeInfo, static_cast<size_t>(DType::count_)> kTable{{
    {DType::f32, "f32", 1, 4, true, false},
    {DType::f16, "f16", 1, 2, true, false},
    {DType::bf16, "bf16", 1, 2, true, false},
    {DType::f64, "f64", 1, 8, true, false},
    {DType::i8, "i8", 1, 1, false, false},
    {DType::u8, "u8", 1, 1, false, false},
    {DType::i16, "i16", 1, 2, false, false},
    {DType::i32, "i32", 1, 4, false, false},
    {DType::i64, "i64", 1, 8, false, false},
    {DType::boolean, "bool", 1, 1, false, false},
    {DType::fp8_e4m3, "fp8_e4m3", 1, 1, true, false},
    {DType::fp8_e5m2, "fp8_e5m2", 1, 1, true, false},
    {DType::q4_0, "q4_0", 32, 18, false, true},
    {DType::q4_1, "q4_1", 32, 20, false, true},
    {DType::q5_0, "q5_0", 32, 22, false, true},
    {DType::q5_1, "q5_1", 32, 24, false, true},
    {DType::q8_0, "q8_0", 32, 34, false, true},
    {DType::q8_1, "q8_1", 32, 36, false, true},
    {DType::q2_k, "q2_k", 256, 84, false, true},
    {DType::q3_k, "q3_k", 256, 110, false, true},
    {DType::q4_k, "q4_k", 256, 144, false, true},
    {DType::q5_k, "q5_k", 256, 176, false, true},
    {DType::q6_k, "q6_k", 256, 210, false, true},
    {DType::q8_k, "q8_k", 256, 292, false, true},
}};

constexpr bool table_is_ordered() {
    for (size_t i = 0; i < kTable.size(); ++i)
        if (static_cast<size_t>(kTable[i].dtype) != i) return false;
    return true;
}
static_assert(table_is_ordered(), "dtype table must follow the enum order");

}  // namespace

const DTypeInfo& dtype_info(DType t) {
    const auto i = static_cast<size_t>(t);
    if (i >= kTable.size()) throw Error("dtype", format("invalid dtype id %zu", i));
    return kTable[i];
}

std::optional<DType> dtype_from_name(std::string_view name) {
    for (const auto& info : kTable)
        if (info.name == name) return info.dtype;
    return std::nullopt;
}

size_t dtype_bytes_for(DType t, uint64_t n) {
    const auto& info = dtype_info(t);
    if (n % info.block_size != 0)
        throw InputError("dtype", format("%llu elements is not a multiple of the %s block size %u",
                                         static_cast<unsigned long long>(n), info.name.data(),
                                         info.block_size));
    return static_cast<size_t>(n / info.block_size) * info.block_bytes;
}

double dtype_bits_per_element(DType t) {
    const auto& info = dtype_info(t);
    return 8.0 * info.block_bytes / info.block_size;
}

}  // namespace tern
