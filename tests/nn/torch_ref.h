#pragma once
// PyTorch reference bundle for the nn tests. Each case is built in C++ from a
// fixed seed (inputs, parameters, a random projection `r` of the output);
// all cases go to tests/ref/nn_ref.py in ONE run of Debian's /usr/bin/python3
// (importing torch costs seconds), which writes back torch's outputs and
// gradients. Tests rebuild their case (deterministic), run tern, and compare.
//
// File format (both directions): u64 little-endian header length, JSON header,
// then f32 data; each tensor in the header has name, shape and element offset.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ref/reference.h"

namespace tern::nn::test {

struct RefCase {
    std::string name;
    nlohmann::json params = nlohmann::json::object();
    std::vector<std::pair<std::string, Tensor>> inputs;
    const Tensor& input(const std::string& n) const {
        for (const auto& [k, t] : inputs)
            if (k == n) return t;
        throw std::runtime_error("no input " + n + " in case " + name);
    }
};
using RefCaseBuilder = RefCase (*)();

inline std::vector<RefCaseBuilder>& ref_case_registry() {
    static std::vector<RefCaseBuilder> r;
    return r;
}
struct RegisterRefCase {
    explicit RegisterRefCase(RefCaseBuilder b) { ref_case_registry().push_back(b); }
};

struct TorchRef {
    testref::Reference reference;  // not usable: torch missing or broken
    std::map<std::string, Tensor> outputs;  // "case/name"
    const Tensor* find(const std::string& c, const std::string& n) const {
        auto it = outputs.find(c + "/" + n);
        return it == outputs.end() ? nullptr : &it->second;
    }
};

inline void write_bundle(const std::string& path, const nlohmann::json& header_in,
                         const std::vector<std::pair<std::string, Tensor>>& tensors) {
    nlohmann::json header = header_in;
    std::vector<float> data;
    header["tensors"] = nlohmann::json::array();
    for (const auto& [name, t] : tensors) {
        header["tensors"].push_back({{"name", name}, {"shape", t.shape()}, {"offset", data.size()}});
        const std::vector<float> f = t.to_floats();
        data.insert(data.end(), f.begin(), f.end());
    }
    const std::string h = header.dump();
    const uint64_t len = h.size();
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(&len), 8);
    out.write(h.data(), static_cast<std::streamsize>(h.size()));
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size() * 4));
}

inline std::map<std::string, Tensor> read_bundle(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    uint64_t len = 0;
    in.read(reinterpret_cast<char*>(&len), 8);
    std::string h(len, '\0');
    in.read(h.data(), static_cast<std::streamsize>(len));
    const nlohmann::json header = nlohmann::json::parse(h);
    std::vector<char> rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const float* data = reinterpret_cast<const float*>(rest.data());
    std::map<std::string, Tensor> out;
    for (const auto& t : header["tensors"]) {
        const Shape shape = t["shape"].get<Shape>();
        const size_t off = t["offset"].get<size_t>();
        const int64_t n = shape_numel(shape);
        out[t["name"].get<std::string>()] = Tensor::from_floats(shape, std::span<const float>(data + off, n));
    }
    return out;
}

// FNV-1a over the files' bytes, as 16 hex digits.
inline std::string content_hash(const std::vector<std::string>& paths) {
    uint64_t h = 1469598103934665603ull;
    for (const auto& p : paths) {
        std::ifstream in(p, std::ios::binary);
        for (std::istreambuf_iterator<char> it(in), end; it != end; ++it) {
            h ^= static_cast<unsigned char>(*it);
            h *= 1099511628211ull;
        }
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

inline testref::Reference torch_reference() {
    return testref::python_module_reference("torch", "Debian python3-torch, run scripts/setup.sh");
}

// torch's outputs for `cases` ("case/name") from tests/ref/<script>, every case
// in ONE python run (importing torch costs seconds). ctest runs every TEST in
// its own process; torch's answer is a pure function of (inputs, script), so it
// is cached under that content hash in <tmp>/<cache_name> and python runs once
// per change rather than once per test. Empty with an unusable reference when
// torch is missing.
inline TorchRef run_torch_cases(const std::string& script_name, const std::vector<RefCase>& cases,
                                const std::string& cache_name) {
    TorchRef r;
    const auto dir = std::filesystem::temp_directory_path() / (cache_name + "_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    nlohmann::json header;
    header["cases"] = nlohmann::json::array();
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const RefCase& c : cases) {
        header["cases"].push_back({{"name", c.name}, {"params", c.params}});
        for (const auto& [n, t] : c.inputs) tensors.emplace_back(c.name + "/" + n, t);
    }
    const std::string ref_dir = std::string(TERN_SOURCE_DIR) + "/tests/ref/";
    const std::string script = ref_dir + script_name;
    const std::string in_path = (dir / "in.bin").string(), out_path = (dir / "out.bin").string();
    write_bundle(in_path, header, tensors);
    const auto cache_dir = std::filesystem::temp_directory_path() / cache_name;
    const auto cached = cache_dir / (content_hash({in_path, script, ref_dir + "tensor_bundle.py"}) + ".bin");
    if (!std::filesystem::exists(cached)) {
        r.reference = torch_reference();
        if (!r.reference.usable()) {
            std::filesystem::remove_all(dir);
            return r;
        }
        const std::string cmd = "/usr/bin/python3 " + script + " " + in_path + " " + out_path;
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error(script_name + " failed: " + cmd);
        std::filesystem::create_directories(cache_dir);
        const auto tmp = cache_dir / ("tmp_" + std::to_string(::getpid()));
        std::filesystem::copy_file(out_path, tmp, std::filesystem::copy_options::overwrite_existing);
        std::filesystem::rename(tmp, cached);  // atomic: concurrent tests never read a partial file
    }
    r.outputs = read_bundle(cached.string());
    std::filesystem::remove_all(dir);
    return r;
}

inline const TorchRef& torch_ref() {
    static const TorchRef ref = [] {
        std::vector<RefCase> cases;
        for (RefCaseBuilder b : ref_case_registry()) cases.push_back(b());
        return run_torch_cases("nn_ref.py", cases, "tern_nn_ref_cache");
    }();
    return ref;
}

}  // namespace tern::nn::test
