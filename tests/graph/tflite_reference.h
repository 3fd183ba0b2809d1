#pragma once
// TFLite's own interpreter (wasm build from npm @tensorflow/tfjs-tflite,
// unpacked by scripts/setup.sh) as the independent reference for tern's
// TFLite importer: runs a model on .npy inputs through tests/ref/tflite_run.js.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/cache_dir.h"
#include "../ref/process.h"
#include "../ref/reference.h"

namespace tern::testref {

inline std::string tflite_wasm_dir() { return tern_cache_dir() + "/npm/tfjs-tflite/package/wasm"; }

inline Reference tflite_reference() {
    if (std::system("node --version >/dev/null 2>&1") != 0)
        return Reference::missing("node is not installed (needed for tests/ref/tflite_run.js)");
    return file_reference(tflite_wasm_dir() + "/tflite_web_api_cc.wasm", "npm package @tensorflow/tfjs-tflite: run scripts/setup.sh");
}

// Runs `model` in TFLite on `inputs` (.npy files, in the model's input order);
// returns the .npy files of its outputs, in the model's output order.
inline std::vector<std::string> tflite_run(const std::string& model, const std::vector<std::string>& inputs,
                                           const std::string& out_dir) {
    std::string cmd = "node " + shell_quote(std::string(TERN_SOURCE_DIR) + "/tests/ref/tflite_run.js") + " " +
                      shell_quote(model) + " " + shell_quote(out_dir);
    for (const auto& file : inputs) {
        cmd += ' ';
        cmd += shell_quote(file);
    }
    int rc = 0;
    const std::string out = run_capture(cmd, rc);
    std::vector<std::string> files;
    EXPECT_EQ(rc, 0) << cmd;
    if (rc != 0) return files;
    const auto report = nlohmann::json::parse(out);
    for (const auto& o : report.at("outputs")) files.push_back(o.at("file").get<std::string>());
    return files;
}

}  // namespace tern::testref
