// tern info MODEL | tern info --cpu
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/json_out.h"
#include "core/printable.h"
#include "core/table.h"
#include "core/thread_pool.h"
#include "graph/model_file.h"
#include "io/model_info.h"
#include "kernels/kernel_registry.h"

namespace tern::cli {
namespace {

struct InfoOptions {
    std::string model;
    bool cpu = false;
    bool json = false;
    bool tensors = true;
    std::string shape;  // graph models: the one input's shape to plan for
};

Json cpu_json() {
    const auto& f = cpu_features();
    Json j;
    j["vendor"] = f.vendor;
    j["brand"] = f.brand;
    j["logical_cores"] = f.logical_cores;
    j["physical_cores"] = f.physical_cores;
    j["default_threads"] = default_thread_count();
    Json feats = Json::object();
    feats["sse4.2"] = f.sse42;
    feats["avx"] = f.avx && f.os_avx;
    feats["avx2"] = f.avx2;
    feats["fma"] = f.fma;
    feats["f16c"] = f.f16c;
    feats["bmi2"] = f.bmi2;
    feats["avx512f"] = f.avx512f && f.os_avx512;
    feats["avx512bw"] = f.avx512bw;
    feats["avx512vl"] = f.avx512vl;
    feats["avx512dq"] = f.avx512dq;
    feats["avx512_vnni"] = f.avx512vnni;
    feats["avx512_bf16"] = f.avx512bf16;
    feats["avx_vnni"] = f.avx_vnni;
    j["features"] = feats;
    Json levels = Json::object();
    for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512}) levels[std::string(isa_name(isa))] = isa_supported(isa);
    j["isa_supported"] = levels;
    j["isa_active"] = std::string(isa_name(active_isa()));
    Json kernels = Json::object();
    for (const auto& fam : kernel_families()) kernels[fam.family] = {{"chosen", fam.chosen}, {"variants", fam.variants}};
    j["kernels"] = kernels;
    return j;
}

void print_cpu(bool json) {
    const Json j = cpu_json();
    if (json) {
        print_json(j);
        return;
    }
    std::printf("cpu        %s (%s)\n", printable(j["brand"].get<std::string>()).c_str(),
                printable(j["vendor"].get<std::string>()).c_str());
    std::printf("cores      %d physical, %d logical; default threads %d\n", j["physical_cores"].get<int>(),
                j["logical_cores"].get<int>(), j["default_threads"].get<int>());
    std::string feats;
    for (auto& [k, v] : j["features"].items())
        if (v.get<bool>()) feats += k + " ";
    std::printf("features   %s\n", feats.c_str());
    std::printf("isa        active %s (supported:", j["isa_active"].get<std::string>().c_str());
    for (auto& [k, v] : j["isa_supported"].items())
        if (v.get<bool>()) std::printf(" %s", k.c_str());
    std::printf(")\n");
    for (auto& [family, k] : j["kernels"].items())
        std::printf("kernel     %-12s %s\n", family.c_str(), k["chosen"].get<std::string>().c_str());
}

}  // namespace

void add_info_command(CLI::App& app) {
    auto opts = std::make_shared<InfoOptions>();
    auto* cmd = app.add_subcommand("info", "Describe a model file (GGUF, safetensors, ONNX, TFLite) or this CPU");
    cmd->add_option("model", opts->model, "model file (.gguf, .safetensors, .onnx, .tflite)");
    cmd->add_flag("--cpu", opts->cpu, "print CPU features and the kernel instruction set chosen");
    cmd->add_flag("--json", opts->json, "machine-readable output");
    cmd->add_flag("!--no-tensors", opts->tensors, "omit the per-tensor table");
    cmd->add_option("--shape", opts->shape, "ONNX/TFLite: plan for this input shape, e.g. 1x3x48x192 (MACs, activation memory)");
    cmd->callback([opts] {
        if (opts->cpu) {
            print_cpu(opts->json);
            return;
        }
        if (opts->model.empty()) throw UsageError("info", "give a MODEL file or --cpu");
        if (graph::graph_file_format(opts->model) != graph::GraphFileFormat::none) {
            print_onnx_info(opts->model, opts->json, opts->shape);
            return;
        }
        if (!opts->shape.empty()) throw UsageError("info", "--shape is for ONNX and TFLite models");
        const ModelFileInfo info = read_model_info(opts->model);
        if (opts->json) print_json(model_info_json(info));
        else print_model_info(info, opts->tensors);
    });
}

}  // namespace tern::cli
