#pragma once
// ONNX Runtime (npm onnxruntime-node, installed by scripts/setup.sh) as the
// graph runtime's independent reference: runs a model on .npy inputs through
// tests/ref/ort_run.js and returns where it wrote the outputs.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/cache_dir.h"
#include "../ref/process.h"
#include "../ref/reference.h"

namespace tern::testref {

inline std::string ort_package_dir() { return tern_cache_dir() + "/npm/onnxruntime/node_modules/onnxruntime-node"; }
// The real models of issue 23 (npm packages unpacked by scripts/setup.sh).
inline std::string ocr_models_dir() { return tern_cache_dir() + "/npm/ocr-models/package/assets"; }
inline std::string face_detection_dir() { return tern_cache_dir() + "/npm/face-detection/package"; }
inline std::string vad_models_dir() { return tern_cache_dir() + "/npm/vad-web/package/dist"; }

inline Reference ort_reference() {
    if (std::system("node --version >/dev/null 2>&1") != 0)
        return Reference::missing("node is not installed (needed for tests/ref/ort_run.js)");
    return file_reference(ort_package_dir(), "npm package onnxruntime-node: run scripts/setup.sh");
}

struct OrtOutput {
    std::string name;
    std::string file;  // .npy written by ONNX Runtime
};

struct OrtResult {
    std::vector<OrtOutput> outputs;
    double median_ms = 0, p90_ms = 0;  // only when bench_runs > 0
};

// Runs `model` in ONNX Runtime (all graph optimizations on) with `inputs`
// (graph input name -> .npy file); outputs go to out_dir/<index>.npy.
// optimize = false runs the graph as written (--no-opt): no BatchNormalization folding or fusions.
inline OrtResult ort_run(const std::string& model, const std::map<std::string, std::string>& inputs,
                         const std::string& out_dir, int threads = 1, int bench_runs = 0, bool optimize = true) {
    std::string cmd = "node " + shell_quote(std::string(TERN_SOURCE_DIR) + "/tests/ref/ort_run.js") + " " +
                      shell_quote(model) + " " + shell_quote(out_dir);
    for (const auto& [name, file] : inputs) cmd += " " + shell_quote(name + "=" + file);
    cmd += " --threads " + std::to_string(threads);
    if (bench_runs > 0) cmd += " --bench " + std::to_string(bench_runs);
    if (!optimize) cmd += " --no-opt";
    int rc = 0;
    const std::string out = run_capture(cmd, rc);
    OrtResult result;
    EXPECT_EQ(rc, 0) << cmd;
    if (rc != 0) return result;
    const auto j = nlohmann::json::parse(out);
    for (const auto& o : j.at("outputs")) result.outputs.push_back({o.at("name"), o.at("file")});
    if (j.contains("median_ms")) {
        result.median_ms = j.at("median_ms");
        result.p90_ms = j.at("p90_ms");
    }
    return result;
}

}  // namespace tern::testref
