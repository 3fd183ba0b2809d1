// libFuzzer target: a safetensors classifier end to end, as `tern eval` takes
// it: load_classifier (metadata names the zoo model, every tensor must fit)
// and one forward pass on a blank image. The input is the safetensors JSON
// header; the data section is synthesised up to the largest data_offsets end
// (capped), so seeds stay small while the real weights (~250 KB) still fit.
// Rejection must be a tern::Error; anything else is a finding.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/thread_pool.h"
#include "fuzz_scratch_file.h"
#include "nn/autograd.h"
#include "nn/train/model_file.h"

namespace {

constexpr uint64_t kMaxData = 8u << 20;

// Bytes the header's tensors claim (the largest data_offsets end), or 0.
uint64_t claimed_data_bytes(const std::string& header) {
    const auto j = nlohmann::json::parse(header, nullptr, /*allow_exceptions=*/false);
    uint64_t end = 0;
    if (!j.is_object()) return 0;
    for (const auto& [name, t] : j.items()) {
        if (!t.is_object() || !t.contains("data_offsets")) continue;
        const auto& off = t["data_offsets"];
        if (off.is_array() && off.size() == 2 && off[1].is_number_unsigned()) end = std::max(end, off[1].get<uint64_t>());
    }
    return std::min(end, kMaxData);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    tern::set_default_threads(1);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const tern::fuzz::ScratchFolder scratch;
    const std::string header(reinterpret_cast<const char*>(data), size);
    std::vector<uint8_t> file(8);
    const uint64_t n = header.size();
    std::memcpy(file.data(), &n, 8);
    file.insert(file.end(), header.begin(), header.end());
    // Small finite f32 weights, so the forward pass does real arithmetic.
    const uint64_t data_bytes = claimed_data_bytes(header);
    for (uint64_t k = 0; k < data_bytes; k += 4) {
        const float v = static_cast<float>((k * 2654435761u >> 12) & 0xff) / 512.0f - 0.25f;
        uint8_t b[4];
        std::memcpy(b, &v, 4);
        file.insert(file.end(), b, b + std::min<uint64_t>(4, data_bytes - k));
    }
    const std::string path = scratch.write("classifier.safetensors", file.data(), file.size());
    try {
        const auto c = tern::nn::train::load_classifier(path);
        int64_t channels = 1;
        if (auto it = c.metadata.find("tern.in_channels"); it != c.metadata.end()) channels = std::stoll(it->second);
        tern::nn::NoGradGuard no_grad;
        const tern::nn::Var x(tern::Tensor::zeros({1, channels, 28, 28}, tern::DType::f32));
        const tern::nn::Var y = c.model->forward(x);
        if (y.shape().size() != 2 || y.shape()[0] != 1) __builtin_trap();
    } catch (const tern::Error&) {
    }
    return 0;
}
