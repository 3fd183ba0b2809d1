#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "io/safetensors.h"

namespace tern::io {
namespace {

struct SafetensorsLayout {
    std::string header;            // JSON padded with spaces to make 8 + size a multiple of 8
    std::vector<Tensor> data;      // contiguous, in name order
};

SafetensorsLayout build_safetensors_layout(const std::vector<NamedTensor>& tensors, const std::map<std::string, std::string>& metadata) {
    std::vector<const NamedTensor*> sorted;
    for (const auto& nt : tensors) sorted.push_back(&nt);
    std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
    nlohmann::json header = nlohmann::json::object();  // std::map-backed: keys come out sorted
    if (!metadata.empty()) header["__metadata__"] = metadata;
    SafetensorsLayout l;
    uint64_t offset = 0;
    for (size_t k = 0; k < sorted.size(); ++k) {
        const auto& nt = *sorted[k];
        if (k > 0 && sorted[k - 1]->name == nt.name) throw InputError(nt.name, "duplicate tensor name");
        if (nt.name == "__metadata__") throw InputError(nt.name, "reserved tensor name");
        const auto dtype = safetensors_name_from_dtype(nt.tensor.dtype());
        if (!dtype)
            throw InputError(nt.name, "safetensors cannot store dtype " + std::string(dtype_name(nt.tensor.dtype())));
        const uint64_t n = nt.tensor.nbytes();
        header[nt.name] = {{"dtype", *dtype}, {"shape", nt.tensor.shape()}, {"data_offsets", {offset, offset + n}}};
        offset += n;
        l.data.push_back(nt.tensor.contiguous());
    }
    l.header = header.dump();
    // The format allows trailing spaces in the header; they align the data buffer.
    l.header.append((8 - (8 + l.header.size()) % 8) % 8, ' ');
    return l;
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    SafetensorsLayout l;
    try {
        l = build_safetensors_layout(tensors, metadata);
    } catch (const InputError& e) {
        throw InputError(path, e.what());
    }
    AtomicFileWriter w(path);
    const uint64_t n = l.header.size();
    w.write(&n, 8);
    w.write(l.header.data(), l.header.size());
    for (const auto& t : l.data) w.write(t.raw_data(), t.nbytes());
    w.commit();
}

std::vector<uint8_t> safetensors_to_bytes(const std::vector<NamedTensor>& tensors,
                                          const std::map<std::string, std::string>& metadata) {
    const SafetensorsLayout l = build_safetensors_layout(tensors, metadata);
    size_t total = 8 + l.header.size();
    for (const auto& t : l.data) total += t.nbytes();
    std::vector<uint8_t> out(total);
    const uint64_t n = l.header.size();
    std::memcpy(out.data(), &n, 8);
    std::memcpy(out.data() + 8, l.header.data(), l.header.size());
    size_t at = 8 + l.header.size();
    for (const auto& t : l.data) {
        if (t.nbytes() > 0) std::memcpy(out.data() + at, t.raw_data(), t.nbytes());
        at += t.nbytes();
    }
    return out;
}

}  // namespace tern::io
