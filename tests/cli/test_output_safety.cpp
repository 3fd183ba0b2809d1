// Commands that write files leave nothing half-written: `tern quantize` ended
// by SIGKILL, SIGTERM or SIGINT in the middle of writing its output leaves the
// folder as it was; outputs that are inputs, and outputs that cannot be
// created, are refused before any work starts.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <climits>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli_runner.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "io/io_test_util.h"

extern char** environ;

namespace tern {
namespace {

namespace fs = std::filesystem;
using testcli::run_tern;

std::set<std::string> output_safety_names_in(const std::string& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
}

pid_t spawn_tern(const std::vector<std::string>& args) {
    std::vector<std::string> argv_s = {TERN_BINARY_PATH};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    // Default SIGINT/SIGTERM actions and no blocked signals, whatever this process inherited.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults, none;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), environ) != 0) pid = -1;
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

// The descriptor through which `pid` writes a file in `dir` (other than
// `input`), or -1; its write offset goes to `*pos`.
int writer_fd(pid_t pid, const std::string& dir, const std::string& input, long long* pos) {
    std::error_code ec;
    const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
    for (const auto& e : fs::directory_iterator(fd_dir, ec)) {
        const fs::path target = fs::read_symlink(e.path(), ec);
        if (ec || target.string().rfind(dir + "/", 0) != 0 || target.string() == input) continue;
        std::ifstream info("/proc/" + std::to_string(pid) + "/fdinfo/" + e.path().filename().string());
        std::string key;
        while (info >> key)
            if (key == "pos:" && info >> *pos) return std::stoi(e.path().filename().string());
    }
    return -1;
}

// One big f32 tensor (64 MiB): quantizing it to f16 writes 32 MiB, long
// enough to stop the process while its output is being written.
class QuantizeInterrupted : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new testio::TempDir;
        std::vector<float> v(size_t{16} << 20);
        for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 977) * 1e-3f;
        io::write_gguf(dir_->file("in.gguf"), {{"general.architecture", io::GgufValue::of_string("llama")}},
                       {{"blk.0.ffn_up.weight", Tensor::from_floats({4096, 4096}, v)}});
    }
    static void TearDownTestSuite() {
        delete dir_;
        dir_ = nullptr;
    }
    static testio::TempDir* dir_;
};
testio::TempDir* QuantizeInterrupted::dir_ = nullptr;

TEST_F(QuantizeInterrupted, SignalMidWriteLeavesTheFolderAsItWas) {
    const std::string dir = fs::canonical(dir_->path()).string();
    const std::string in = dir + "/in.gguf", out = dir + "/out.gguf";
    for (int sig : {SIGKILL, SIGTERM, SIGINT}) {
        for (bool existing : {false, true}) {
            const std::vector<uint8_t> old = {'o', 'l', 'd'};
            auto reset_output = [&] {
                fs::remove(out);
                if (existing) testio::write_bytes(out, old);
            };
            reset_output();
            bool caught_mid_write = false;
            for (int attempt = 0; attempt < 5 && !caught_mid_write; ++attempt) {
                const pid_t pid = spawn_tern({"quantize", in, "-o", out, "--format", "f16"});
                ASSERT_GT(pid, 0);
                long long pos = 0;
                int status = 0;
                bool exited = false;
                const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
                while (writer_fd(pid, dir, in, &pos) < 0 && std::chrono::steady_clock::now() < deadline) {
                    if (::waitpid(pid, &status, WNOHANG) == pid) {
                        exited = true;
                        break;
                    }
                    std::this_thread::sleep_for(std::chrono::microseconds(200));
                }
                if (exited) {  // finished before we saw it writing: try again
                    reset_output();
                    continue;
                }
                ::kill(pid, SIGSTOP);
                ::waitpid(pid, &status, WUNTRACED);
                // Still holding its unfinished output (writing or syncing it) while stopped.
                const bool holding = writer_fd(pid, dir, in, &pos) >= 0;
                ::kill(pid, sig);
                ::kill(pid, SIGCONT);
                ::waitpid(pid, &status, 0);
                if (!holding) {
                    reset_output();
                    continue;
                }
                ASSERT_TRUE(WIFSIGNALED(status)) << "signal " << sig << " status " << status;
                EXPECT_EQ(WTERMSIG(status), sig);
                const bool replaced = fs::exists(out) && (!existing || testio::read_bytes(out) != old);
                if (replaced && output_safety_names_in(dir) == std::set<std::string>{"in.gguf", "out.gguf"} &&
                    io::read_gguf(out).tensors.size() == 1) {
                    // Stopped between linking the finished file and closing it: complete, not half-written.
                    reset_output();
                    continue;
                }
                caught_mid_write = true;
                const std::set<std::string> want =
                    existing ? std::set<std::string>{"in.gguf", "out.gguf"} : std::set<std::string>{"in.gguf"};
                EXPECT_EQ(output_safety_names_in(dir), want) << "signal " << sig << " after " << pos << " bytes";
                if (existing) {
                    EXPECT_EQ(testio::read_bytes(out), old);
                }
            }
            EXPECT_TRUE(caught_mid_write) << "never stopped quantize while it wrote (signal " << sig << ")";
            fs::remove(out);
        }
    }
}

std::string write_small_model(const testio::TempDir& dir, const std::string& name, bool with_nan = false) {
    std::vector<float> v(64 * 256, 0.01f);
    if (with_nan) v[5] = NAN;
    io::write_gguf(dir.file(name), {{"general.architecture", io::GgufValue::of_string("llama")}},
                   {{"blk.0.ffn_up.weight", Tensor::from_floats({64, 256}, v)}});
    return dir.file(name);
}

TEST(OutputSafety, QuantizeRefusesItsInputUnderAnyName) {
    testio::TempDir dir;
    const std::string in = write_small_model(dir, "model.gguf");
    const auto before = testio::read_bytes(in);
    ASSERT_EQ(::link(in.c_str(), dir.file("hardlink.gguf").c_str()), 0);
    for (const std::string& out : {in, dir.path() + "/./model.gguf", dir.file("hardlink.gguf")}) {
        const auto r = run_tern("quantize " + in + " -o " + out + " --format q8_0");
        EXPECT_EQ(r.code, 2) << out << ": " << r.err;
        EXPECT_NE(r.err.find("output would overwrite the input " + in), std::string::npos) << r.err;
    }
    EXPECT_EQ(testio::read_bytes(in), before);
    EXPECT_EQ(output_safety_names_in(dir.path()), (std::set<std::string>{"model.gguf", "hardlink.gguf"}));
}

TEST(OutputSafety, QuantizeChecksTheOutputBeforeQuantizing) {
    testio::TempDir dir;
    // The NaN would stop quantization; the output's problem must be reported first.
    const std::string in = write_small_model(dir, "nan.gguf", /*with_nan=*/true);
    auto r = run_tern("quantize " + in + " -o " + dir.file("missing/out.gguf") + " --format q8_0");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("missing/out.gguf] output folder"), std::string::npos) << r.err;
    r = run_tern("quantize " + in + " -o " + dir.file(std::string(NAME_MAX + 1, 'x')) + " --format q8_0");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("allows at most"), std::string::npos) << r.err;
    r = run_tern("quantize " + in + " -o " + dir.path() + " --format q8_0");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("is a folder"), std::string::npos) << r.err;
    EXPECT_EQ(output_safety_names_in(dir.path()), std::set<std::string>{"nan.gguf"});
}

TEST(OutputSafety, TrainRefusesToOverwriteItsRecipeOrResumeFile) {
    testio::TempDir dir;
    const std::string recipe = dir.file("recipe.json");
    const std::string text =
        R"({"model": "lenet300", "data": "fashion-mnist", "data_dir": ")" + dir.file("no-data") +
        R"(", "epochs": 1, "batch_size": 64, "optimizer": {"name": "sgd", "lr": 0.05}, )"
        R"("schedule": {"name": "cosine"}, "output": ")" + recipe + R"("})";
    testio::write_bytes(recipe, std::vector<uint8_t>(text.begin(), text.end()));
    auto r = run_tern("train " + recipe);  // the recipe's own output key names it
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("output would overwrite the input " + recipe), std::string::npos) << r.err;
    r = run_tern("train " + recipe + " --out " + recipe);
    EXPECT_EQ(r.code, 2) << r.err;
    r = run_tern("train " + recipe + " --out " + dir.file("recipe.json.metrics.csv") + " --resume " +
                 dir.file("recipe.json.metrics.csv.metrics.csv"));  // a sidecar is the --resume file
    EXPECT_EQ(r.code, 2) << r.err;
    r = run_tern("train " + recipe + " --out " + dir.file("recipe"));  // sidecars: recipe.metrics.csv …
    EXPECT_NE(r.code, 2) << r.err;
    r = run_tern("train " + recipe + " --out " + dir.file("missing/model.safetensors"));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("output folder"), std::string::npos) << r.err << " (checked before the data)";
    const auto after = testio::read_bytes(recipe);
    EXPECT_EQ(std::string(after.begin(), after.end()), text);
}

TEST(OutputSafety, SynthChecksTheOutputFirst) {
    testio::TempDir dir;
    const auto r = run_tern("synth --shape llama-tiny -o " + dir.file("missing/m.gguf"));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("output folder"), std::string::npos) << r.err;
    EXPECT_TRUE(output_safety_names_in(dir.path()).empty());
}

}  // namespace
}  // namespace tern
