#pragma once
// PyTorch answers for the fake-quant op tests: every case goes to
// tests/ref/qat_ref.py in ONE python run (importing torch costs seconds),
// cached under the content hash of (inputs, script) as tests/nn/torch_ref.h does.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "nn/torch_ref.h"

namespace tern::quant::test {

using nn::test::RefCase;

// torch's outputs for `cases` ("case/name"); empty with an unusable reference when torch is missing.
inline nn::test::TorchRef qat_torch_outputs(const std::vector<RefCase>& cases) {
    nn::test::TorchRef r;
    const auto dir = std::filesystem::temp_directory_path() / ("tern_qat_ref_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    nlohmann::json header;
    header["cases"] = nlohmann::json::array();
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const RefCase& c : cases) {
        header["cases"].push_back({{"name", c.name}, {"params", c.params}});
        for (const auto& [n, t] : c.inputs) tensors.emplace_back(c.name + "/" + n, t);
    }
    const std::string script = std::string(TERN_SOURCE_DIR) + "/tests/ref/qat_ref.py";
    const std::string bundle_io = std::string(TERN_SOURCE_DIR) + "/tests/ref/tensor_bundle.py";
    const std::string in_path = (dir / "in.bin").string(), out_path = (dir / "out.bin").string();
    nn::test::write_bundle(in_path, header, tensors);
    const auto cache_dir = std::filesystem::temp_directory_path() / "tern_qat_ref_cache";
    const auto cached = cache_dir / (nn::test::content_hash({in_path, script, bundle_io}) + ".bin");
    if (!std::filesystem::exists(cached)) {
        r.reference = nn::test::torch_reference();
        if (!r.reference.usable()) {
            std::filesystem::remove_all(dir);
            return r;
        }
        const std::string cmd = "/usr/bin/python3 " + script + " " + in_path + " " + out_path;
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("qat_ref.py failed: " + cmd);
        std::filesystem::create_directories(cache_dir);
        const auto tmp = cache_dir / ("tmp_" + std::to_string(::getpid()));
        std::filesystem::copy_file(out_path, tmp, std::filesystem::copy_options::overwrite_existing);
        std::filesystem::rename(tmp, cached);
    }
    r.outputs = nn::test::read_bundle(cached.string());
    std::filesystem::remove_all(dir);
    return r;
}

}  // namespace tern::quant::test
