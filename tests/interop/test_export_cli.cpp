// tern export MODEL.safetensors -o MODEL.onnx: the written file imports and
// runs; bad input is one line and exit 1 (bad usage exit 2), and leaves no file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "cli/cli_runner.h"
#include "export_test_util.h"
#include "graph/onnx_import.h"
#include "io/io_test_util.h"

namespace tern::testinterop {
namespace {

using testcli::run_tern;
namespace fs = std::filesystem;

TEST(ExportCli, WritesAnOnnxModelTernImports) {
    testio::TempDir dir;
    const std::string out = dir.file("lenet5.onnx");
    const auto r = run_tern("export " + model_path("fmnist-lenet5") + " -o " + out);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("lenet5, opset 13"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Conv x2"), std::string::npos) << r.out;
    const graph::Graph g = graph::import_onnx_file(out);
    EXPECT_EQ(g.inputs, std::vector<std::string>{"image"});
    EXPECT_EQ(g.outputs, std::vector<std::string>{"logits"});
    EXPECT_EQ(g.values.at("logits").shape, (Shape{-1, 10}));
}

TEST(ExportCli, BadInputIsOneLineAndLeavesNoFile) {
    testio::TempDir dir;
    const std::string not_model = dir.file("notes.safetensors");
    std::ofstream(not_model) << "hello, not a model";
    const std::string empty = dir.file("empty.safetensors");
    std::ofstream{empty};
    // A valid safetensors file with no tern.model metadata: someone else's checkpoint.
    const std::string plain = dir.file("plain.safetensors");
    {
        const std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
        std::string bytes(8, '\0');
        for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
        std::ofstream(plain, std::ios::binary) << bytes << header << std::string(8, '\0');
    }
    const std::string onnx_in = dir.file("in.onnx");
    ASSERT_EQ(run_tern("export " + model_path("fmnist-lenet300") + " -o " + onnx_in).code, 0);
    const std::string out = dir.file("out.onnx");
    const std::string lenet = model_path("fmnist-lenet300");
    const struct {
        std::string args;
        int code;
        std::string expect;
    } cases[] = {
        {"export " + dir.file("missing.safetensors") + " -o " + out, 1, "missing.safetensors"},
        {"export " + not_model + " -o " + out, 1, "[" + not_model + "] not a safetensors file"},
        {"export " + empty + " -o " + out, 1, "[" + empty + "] is empty"},
        {"export " + plain + " -o " + out, 1, "[" + plain + "] not a tern classifier (no tern.model"},
        {"export " + std::string(TERN_SOURCE_DIR) + "/models/tinylm.gguf -o " + out, 1, "tinylm.gguf] is a GGUF model"},
        {"export " + onnx_in + " -o " + out, 1, "[" + onnx_in + "] not a safetensors file (starts with 08"},
        {"export " + lenet + " -o " + dir.file("no/such/dir/out.onnx"), 1, "no/such/dir"},
        {"export " + lenet + " -o " + not_model + "/out.onnx", 1, "notes.safetensors is not a folder"},
        {"export " + lenet + " -o /proc/tern-export.onnx", 1, "[/proc/tern-export.onnx] cannot create file"},
        {"export " + lenet + " -o " + lenet, 2, "fmnist-lenet300.safetensors"},
        {"export " + lenet, 2, "--output"},
    };
    for (const auto& c : cases) {
        const auto r = run_tern(c.args);
        EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.err;
        EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\n" << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << "\n" << r.err;
        EXPECT_FALSE(fs::exists(out)) << c.args;
    }
    // The folder holds only what the test put there: no temporary was left behind.
    size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir.path())) files += e.is_regular_file();
    EXPECT_EQ(files, 4u);
}

TEST(ExportCli, ReadOnlyFolderIsRefusedBeforeWork) {
    if (::geteuid() == 0) GTEST_SKIP() << "root writes into read-only folders";
    testio::TempDir dir;
    fs::create_directory(dir.file("ro"));
    fs::permissions(dir.file("ro"), fs::perms::owner_read | fs::perms::owner_exec);
    const auto r = run_tern("export " + model_path("fmnist-lenet300") + " -o " + dir.file("ro/m.onnx"));
    fs::permissions(dir.file("ro"), fs::perms::owner_all);
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("ro/m.onnx"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(fs::is_empty(dir.file("ro")));
}

}  // namespace
}  // namespace tern::testinterop
