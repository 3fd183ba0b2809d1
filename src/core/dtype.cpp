#include "core/dtype.h"

#include "core/error.h"

namespace tern {

const DTypeInfo& dtype_info(DType t) {
    const auto i = static_cast<size_t>(t);
    if (i >= kStorageTypes.size()) throw Error("dtype", format("invalid dtype id %zu", i));
    return kStorageTypes[i];
}

std::optional<DType> dtype_from_name(std::string_view name) {
    if (const StorageType* s = storage_type_by_name(name)) return s->dtype;
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
