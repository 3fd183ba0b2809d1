// libFuzzer target: the K-means compressed-weight decoder. Input byte 0 picks
// the mode. Mode 0 (raw Huffman): byte 1 = alphabet size n, then n code
// lengths, a 2-byte symbol count and the bitstream -> io::huffman_decode.
// Otherwise the rest is a whole safetensors file whose tern.compression
// metadata is decoded (io::decode_shared_weights) against LeNet-300's weight
// shapes. Rejection must be a tern::Error; a decoded symbol past the
// alphabet or a crash is a finding.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "fuzz_scratch_file.h"
#include "io/huffman.h"
#include "io/safetensors.h"
#include "io/shared_weights.h"

namespace {

void fuzz_raw_huffman(const uint8_t* data, size_t size) {
    if (size < 1) return;
    const size_t n = data[0];
    if (size < 1 + n + 2) return;
    const std::vector<uint8_t> lengths(data + 1, data + 1 + n);
    const uint64_t count = data[1 + n] | (uint64_t{data[2 + n]} << 8);
    const std::vector<uint8_t> stream(data + 3 + n, data + size);
    try {
        for (uint32_t s : tern::io::huffman_decode(stream, lengths, count, "fuzz"))
            if (s >= n || lengths[s] == 0) __builtin_trap();
    } catch (const tern::InputError&) {
    }
}

void fuzz_shared_file(const uint8_t* data, size_t size) {
    static const tern::fuzz::ScratchFolder scratch;
    static const std::map<std::string, tern::Shape> shapes = {
        {"fc1.weight", {300, 784}}, {"fc2.weight", {100, 300}}, {"fc3.weight", {10, 100}}, {"w", {4, 4}}};
    const std::string path = scratch.write("shared.safetensors", data, size);
    try {
        auto f = tern::io::read_safetensors(path);
        std::string meta;
        for (const auto& [k, v] : f.infos.at(0).metadata)
            if (k == tern::io::kCompressionKey) meta = v;
        if (meta.empty()) return;
        tern::io::decode_shared_weights(f.tensors, meta, path, [](const std::string& name) -> const tern::Shape* {
            auto it = shapes.find(name);
            return it == shapes.end() ? nullptr : &it->second;
        });
    } catch (const tern::Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    if (data[0] == 0)
        fuzz_raw_huffman(data + 1, size - 1);
    else
        fuzz_shared_file(data + 1, size - 1);
    return 0;
}
