#pragma once
// Runs one ONNX node-conformance test directory (model.onnx plus
// test_data_set_*/input_*.pb, output_*.pb) through tern's importer and
// executor and compares at the tolerance onnx's backend test uses.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <cstring>
#include <functional>
#include <map>
#include <string>

#include "core/error.h"
#include "core/half.h"
#include "graph/executor.h"
#include "graph/onnx_import.h"
#include "graph/onnx_tensor.h"
#include "graph/prepared_executor.h"

namespace tern::testgraph {

struct CaseResult {
    enum class Status { pass, fail, unsupported } status;
    std::string detail;  // why it failed, or the import error for unsupported
};

inline constexpr double kOnnxRtol = 1e-3, kOnnxAtol = 1e-7;

namespace detail {
namespace fs = std::filesystem;

// input_0.pb, input_1.pb, ... in numeric order (input_10 after input_9).
inline std::vector<std::string> numbered_files(const fs::path& dir, const std::string& stem) {
    std::vector<std::pair<int, std::string>> found;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.rfind(stem + "_", 0) == 0 && e.path().extension() == ".pb") {
            found.emplace_back(std::stoi(name.substr(stem.size() + 1)), e.path().string());
        }
    }
    std::sort(found.begin(), found.end());
    std::vector<std::string> out;
    for (auto& [i, p] : found) out.push_back(p);
    return out;
}

inline double element(const Tensor& t, int64_t i) {
    switch (t.dtype()) {
        case DType::f32: return t.data<float>()[i];
        case DType::f64: return t.data<double>()[i];
        case DType::i64: return static_cast<double>(t.data<int64_t>()[i]);
        case DType::i32: return t.data<int32_t>()[i];
        case DType::i16: return t.data<int16_t>()[i];
        case DType::i8: return t.data<int8_t>()[i];
        case DType::u8:
        case DType::boolean: return t.data<uint8_t>()[i];
        case DType::f16: return fp16_to_fp32(t.data<uint16_t>()[i]);
        case DType::bf16: return bf16_to_fp32(t.data<uint16_t>()[i]);
        default: throw Error("conformance", "cannot compare dtype " + std::string(dtype_name(t.dtype())));
    }
}

inline std::string compare(const Tensor& got, const Tensor& want) {
    if (got.dtype() != want.dtype()) {
        return "dtype " + std::string(dtype_name(got.dtype())) + ", expected " + std::string(dtype_name(want.dtype()));
    }
    if (got.shape() != want.shape()) return "shape " + shape_to_string(got.shape()) + ", expected " + shape_to_string(want.shape());
    const Tensor g = got.contiguous();
    for (int64_t i = 0; i < want.numel(); ++i) {
        const double a = element(g, i), b = element(want, i);
        if (std::isnan(a) && std::isnan(b)) continue;
        if (a == b) continue;
        if (!(std::fabs(a - b) <= kOnnxAtol + kOnnxRtol * std::fabs(b))) {
            return format("element %lld is %.9g, expected %.9g", static_cast<long long>(i), a, b);
        }
    }
    return "";
}

}  // namespace detail

// `transform`, when given, replaces the imported graph before it runs (the
// export round trip runs every case through export and import again).
using GraphTransform = std::function<graph::Graph(const graph::Graph&)>;

inline CaseResult run_conformance_case(const std::string& dir, const GraphTransform& transform = nullptr) {
    graph::Graph g;
    try {
        g = graph::import_onnx_file(dir + "/model.onnx");
    } catch (const Error& e) {
        return {CaseResult::Status::unsupported, e.what()};
    }
    try {
        if (transform) g = transform(g);
        const graph::Executor exec(g);
        for (const auto& set : std::filesystem::directory_iterator(dir)) {
            if (!set.is_directory() || set.path().filename().string().rfind("test_data_set_", 0) != 0) continue;
            const auto in_files = detail::numbered_files(set.path(), "input");
            const auto out_files = detail::numbered_files(set.path(), "output");
            if (in_files.size() != g.inputs.size()) {
                return {CaseResult::Status::fail, format("%zu input files for %zu graph inputs", in_files.size(), g.inputs.size())};
            }
            if (out_files.size() != g.outputs.size()) {
                return {CaseResult::Status::fail, format("%zu output files for %zu graph outputs", out_files.size(), g.outputs.size())};
            }
            // Data of an element type tern does not hold (string, uint16-coded bfloat16) is not run, like an unknown op.
            std::map<std::string, Tensor> inputs;
            std::vector<Tensor> expected;
            try {
                for (size_t i = 0; i < in_files.size(); ++i) inputs[g.inputs[i]] = graph::read_onnx_tensor_file(in_files[i]);
                for (const auto& f : out_files) expected.push_back(graph::read_onnx_tensor_file(f));
            } catch (const Error& e) {
                return {CaseResult::Status::unsupported, e.what()};
            }
            const auto outputs = exec.run(inputs);
            for (size_t i = 0; i < out_files.size(); ++i) {
                const std::string diff = detail::compare(outputs.at(g.outputs[i]), expected[i]);
                if (!diff.empty()) return {CaseResult::Status::fail, "output '" + g.outputs[i] + "': " + diff};
            }
        }
    } catch (const Error& e) {
        return {CaseResult::Status::fail, e.what()};
    }
    return {CaseResult::Status::pass, ""};
}

// The same case through the planned executor (graph/prepared_executor.h),
// with graph inputs from `constant_from` on made initializers holding the
// test's data (weights, scales, sizes are constants in real models, and the
// prepared steps take only constants there). `prepared` counts the data sets
// whose every node ran on a prepared step.
inline CaseResult run_conformance_case_planned(const std::string& dir, size_t constant_from, int* prepared = nullptr) {
    graph::Graph g;
    try {
        g = graph::import_onnx_file(dir + "/model.onnx");
    } catch (const Error& e) {
        return {CaseResult::Status::unsupported, e.what()};
    }
    try {
        for (const auto& set : std::filesystem::directory_iterator(dir)) {
            if (!set.is_directory() || set.path().filename().string().rfind("test_data_set_", 0) != 0) continue;
            const auto in_files = detail::numbered_files(set.path(), "input");
            const auto out_files = detail::numbered_files(set.path(), "output");
            if (in_files.size() != g.inputs.size() || out_files.size() != g.outputs.size()) {
                return {CaseResult::Status::fail, "input or output files do not match the graph"};
            }
            graph::Graph planned = g;
            planned.inputs.clear();
            std::map<std::string, Tensor> inputs;
            std::map<std::string, Shape> shapes;
            std::vector<Tensor> expected;
            try {
                for (size_t i = 0; i < in_files.size(); ++i) {
                    Tensor t = graph::read_onnx_tensor_file(in_files[i]);
                    if (i >= constant_from) {
                        planned.initializers[g.inputs[i]] = t;
                        continue;
                    }
                    planned.inputs.push_back(g.inputs[i]);
                    shapes[g.inputs[i]] = t.shape();
                    inputs[g.inputs[i]] = t;
                }
                for (const auto& f : out_files) expected.push_back(graph::read_onnx_tensor_file(f));
            } catch (const Error& e) {
                return {CaseResult::Status::unsupported, e.what()};
            }
            graph::PreparedExecutor exec(planned, shapes);
            if (prepared && exec.reference_nodes() == 0) ++*prepared;
            const auto outputs = exec.run(inputs);
            const auto reference = graph::Executor(planned).run(inputs);
            for (size_t i = 0; i < out_files.size(); ++i) {
                const Tensor& got = outputs.at(g.outputs[i]);
                const std::string diff = detail::compare(got, expected[i]);
                if (!diff.empty()) return {CaseResult::Status::fail, "output '" + g.outputs[i] + "': " + diff};
                const Tensor want = reference.at(g.outputs[i]).contiguous();
                if (got.nbytes() != want.nbytes() || std::memcmp(got.raw_data(), want.raw_data(), got.nbytes()) != 0)
                    return {CaseResult::Status::fail, "output '" + g.outputs[i] + "' differs in its bits from the reference executor's"};
            }
        }
    } catch (const Error& e) {
        return {CaseResult::Status::fail, e.what()};
    }
    return {CaseResult::Status::pass, ""};
}

}  // namespace tern::testgraph
