// `tern search` end to end on a tiny space, `tern eval` of what it found, and
// its usage and input errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli/cli_runner.h"
#include "nn/data/image_dataset.h"
#include "ref/reference.h"
#include "data/fashion_mnist_test_util.h"

using tern::testcli::run_tern;

namespace {


std::string nas_search_cli_temp_dir() {
    const auto d = std::filesystem::temp_directory_path() / ("tern-search-cli-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
}

std::string nas_search_cli_write(const std::string& name, const std::string& text) {
    const std::string p = nas_search_cli_temp_dir() + "/" + name;
    std::ofstream(p) << text;
    return p;
}

// Small enough that two candidates train, and the test split is evaluated twice, in about a second.
const char* kTinySpace = R"({"stem":8,"head":16,"stages":[{"channels":8,"stride":2,"depths":[1,2]}],
                            "kernels":[3,5],"expansions":[1,2],"widths":[0.5,1.0]})";

}  // namespace

TEST(SearchCli, TinySearchWritesAModelTernEvalTakes) {
    REQUIRE_FASHION();
    const std::string space = nas_search_cli_write("tiny.json", kTinySpace), out = nas_search_cli_temp_dir() + "/found.safetensors";
    const auto r = run_tern("search " + space + " --strategy evolution --data fashion-mnist --max-evals 2 --epochs 1 "
                            "--train-subset 256 --seed 3 -t 2 --json -o " + out);
    ASSERT_EQ(r.code, 0) << r.all();
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["evaluations"], 2);
    EXPECT_EQ(j["test_images"], 10000);
    EXPECT_NE(r.err.find("[2/2]"), std::string::npos) << "progress lines on stderr with --json";
    std::ifstream csv(out + ".search.csv");
    std::string header, line;
    std::getline(csv, header);
    EXPECT_EQ(header.rfind("index,arch,params,macs,latency_ms,trained,val_accuracy", 0), 0u) << header;
    int rows = 0;
    while (std::getline(csv, line)) ++rows;
    EXPECT_EQ(rows, 2);

    const auto e = run_tern("eval " + out + " --data fashion-mnist --json -t 2");
    ASSERT_EQ(e.code, 0) << e.all();
    const auto ej = nlohmann::json::parse(e.out);
    EXPECT_NEAR(ej["accuracy"].get<double>(), j["test_accuracy"].get<double>(), 1e-9);
    // A found model is a MobileNetV2 to the other tools too: it exports to ONNX.
    const auto x = run_tern("export " + out + " -o " + out + ".onnx");
    EXPECT_EQ(x.code, 0) << x.all();
    EXPECT_TRUE(std::filesystem::exists(out + ".onnx"));
}

TEST(SearchCli, ZeroShotSameSeedSameResult) {
    REQUIRE_FASHION();
    const std::string space = nas_search_cli_write("tiny-seed.json", kTinySpace);
    auto once = [&](const std::string& name) {
        const auto r = run_tern("search " + space + " --strategy zeroshot --max-evals 3 --epochs 1 --train-subset 256 "
                                "--seed 5 -t 2 --json -o " + nas_search_cli_temp_dir() + "/" + name);
        EXPECT_EQ(r.code, 0) << r.all();
        return r.code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
    };
    const auto a = once("seed-a.safetensors"), b = once("seed-b.safetensors");
    EXPECT_EQ(a["evaluations"], 3);  // scored by the proxies; only the top NASWOT one trains
    std::ifstream csv(nas_search_cli_temp_dir() + "/seed-a.safetensors.search.csv");
    std::string line;
    int trained = 0;
    std::getline(csv, line);
    while (std::getline(csv, line)) {
        // After the quoted arch: params, macs, latency_ms, trained, ...
        std::stringstream rest(line.substr(line.rfind('"') + 2));
        std::string field;
        for (int i = 0; i < 4; ++i) std::getline(rest, field, ',');
        trained += field == "1";
    }
    EXPECT_EQ(trained, 1);
    EXPECT_EQ(a["arch"], b["arch"]);
    EXPECT_EQ(a["val_accuracy"], b["val_accuracy"]);
    EXPECT_EQ(a["test_accuracy"], b["test_accuracy"]);
}

TEST(SearchCli, BadFlagsExitTwoWithTheRange) {
    const std::string out = nas_search_cli_temp_dir() + "/x.safetensors";
    auto r = run_tern("search mobilenet --strategy bogus -o " + out);
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_NE(r.err.find("proxyless"), std::string::npos) << r.err;
    r = run_tern("search mobilenet --max-evals 0 -o " + out);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("100000"), std::string::npos) << r.err;
    r = run_tern("search mobilenet --epochs -1 -o " + out);
    EXPECT_EQ(r.code, 2);
    r = run_tern("search mobilenet --latency-ms 0 -o " + out);
    EXPECT_EQ(r.code, 2);
    r = run_tern("search mobilenet --data cifar10 -o " + out);
    EXPECT_EQ(r.code, 2);
    EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(SearchCli, UnmeetableBudgetAndBadSpaceExitOne) {
    const std::string out = nas_search_cli_temp_dir() + "/y.safetensors";
    auto r = run_tern("search mobilenet --params 1000 -o " + out);
    EXPECT_EQ(r.code, 1) << r.all();
    EXPECT_NE(r.err.find("no architecture of the search space 'mobilenet' meets it: the smallest has"), std::string::npos)
        << r.err;
    r = run_tern("search mobilenet --macs 5 -o " + out);
    EXPECT_EQ(r.code, 1);
    const std::string empty = nas_search_cli_write("empty.json", R"({"stem":8,"head":16,"stages":[],"kernels":[3],"expansions":[1],"widths":[1]})");
    r = run_tern("search " + empty + " -o " + out);
    EXPECT_EQ(r.code, 1) << r.all();
    EXPECT_NE(r.err.find(empty), std::string::npos);
    EXPECT_NE(r.err.find("'stages': is empty"), std::string::npos) << r.err;
    r = run_tern("search " + nas_search_cli_temp_dir() + "/missing.json -o " + out);
    EXPECT_EQ(r.code, 1) << r.all();
    EXPECT_FALSE(std::filesystem::exists(out));
    EXPECT_FALSE(std::filesystem::exists(out + ".search.csv"));
}

TEST(SearchCli, HostileNasModelFileIsOneError) {
    // A classifier file whose tern.model names a malformed architecture.
    const std::string path = nas_search_cli_temp_dir() + "/bad.safetensors";
    const std::string meta = R"({"__metadata__":{"tern.model":"nas:{\"stem\":99999}"}})";
    std::string header = meta;
    while (header.size() % 8) header += ' ';
    std::ofstream f(path, std::ios::binary);
    const uint64_t n = header.size();
    f.write(reinterpret_cast<const char*>(&n), 8);
    f << header;
    f.close();
    const auto r = run_tern("eval " + path + " --data fashion-mnist");
    EXPECT_EQ(r.code, 1) << r.all();
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("tern.model metadata"), std::string::npos) << r.err;
}

TEST(SearchCli, ProxylessWritesAModelAndItsSupernetLog) {
    REQUIRE_FASHION();
    const std::string space = nas_search_cli_write("tiny-proxyless.json", kTinySpace), out = nas_search_cli_temp_dir() + "/proxyless.safetensors";
    const auto r = run_tern("search " + space + " --strategy proxyless --latency-ms 50 --max-evals 2 --epochs 1 "
                            "--train-subset 256 --seed 2 -t 2 --json -o " + out);
    ASSERT_EQ(r.code, 0) << r.all();
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["strategy"], "proxyless");
    EXPECT_EQ(j["supernet_steps"], 2);
    EXPECT_LE(j["predicted_latency_ms"].get<double>(), 50.0);
    EXPECT_GT(j["latency_ms"].get<double>(), 0.0);  // measured
    EXPECT_GT(j["search_cpu_hours"].get<double>(), 0.0);
    EXPECT_GE(j["total_cpu_hours"].get<double>(), j["search_cpu_hours"].get<double>());
    EXPECT_NE(r.err.find("[proxyless 2/2]"), std::string::npos) << r.err;
    std::ifstream log(out + ".proxyless.csv");
    std::string header, line;
    std::getline(log, header);
    EXPECT_EQ(header.rfind("step,epoch,lr,train_ce,arch_step,val_ce,loss,expected_latency_ms", 0), 0u) << header;
    int rows = 0;
    while (std::getline(log, line)) ++rows;
    EXPECT_EQ(rows, 2);
    const auto e = run_tern("eval " + out + " --data fashion-mnist --json -t 2");
    ASSERT_EQ(e.code, 0) << e.all();
    EXPECT_NEAR(nlohmann::json::parse(e.out)["accuracy"].get<double>(), j["test_accuracy"].get<double>(), 1e-9);
}

TEST(SearchCli, ProxylessBadFlagsAndBudgets) {
    const std::string out = nas_search_cli_temp_dir() + "/p.safetensors";
    auto r = run_tern("search mobilenet --strategy proxyless -o " + out);  // no latency target
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_NE(r.err.find("--latency-ms"), std::string::npos) << r.err;
    r = run_tern("search mobilenet --strategy proxyless --latency-ms 5 --search-epochs 0 -o " + out);
    EXPECT_EQ(r.code, 2) << r.all();
    r = run_tern("search mobilenet --strategy proxyless --latency-ms 0.0001 -o " + out);
    EXPECT_EQ(r.code, 1) << r.all();
    EXPECT_NE(r.err.find("meets it"), std::string::npos) << r.err;
    const std::string gap = nas_search_cli_write("gap.json", R"({"stem":8,"head":16,"stages":[{"channels":8,"stride":2,"depths":[1,3]}],
                                                 "kernels":[3],"expansions":[2],"widths":[1.0]})");
    r = run_tern("search " + gap + " --strategy proxyless --latency-ms 50 --train-subset 64 -o " + out);
    EXPECT_EQ(r.code, 1) << r.all();
    EXPECT_NE(r.err.find("contiguous"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out));
    EXPECT_FALSE(std::filesystem::exists(out + ".proxyless.csv"));
}

TEST(SearchCli, DartsWritesAModelItsSupernetLogAndAlpha) {
    REQUIRE_FASHION();
    const std::string space = nas_search_cli_write("tiny-darts.json", kTinySpace), out = nas_search_cli_temp_dir() + "/darts.safetensors";
    // No --latency-ms: DARTS without the latency term (CE alone on alpha).
    const auto r = run_tern("search " + space + " --strategy darts --max-evals 2 --epochs 1 --train-subset 256 --seed 2 -t 2 "
                            "--json -o " + out);
    ASSERT_EQ(r.code, 0) << r.all();
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["strategy"], "darts");
    EXPECT_EQ(j["supernet_steps"], 2);
    EXPECT_EQ(j["evaluations"], 1);
    EXPECT_GT(j["latency_ms"].get<double>(), 0.0);
    EXPECT_GE(j["total_cpu_hours"].get<double>(), j["search_cpu_hours"].get<double>());
    // The tiny space at its widest width: 2 slots (the second may be skipped), softmax(alpha) per slot.
    ASSERT_EQ(j["alpha"].size(), 2u);
    for (const auto& slot : j["alpha"]) {
        double sum = 0;
        for (const auto& [name, p] : slot["softmax_alpha"].items()) sum += p.get<double>();
        EXPECT_NEAR(sum, 1.0, 1e-9);
    }
    EXPECT_TRUE(j["alpha"][1]["softmax_alpha"].contains("skip"));
    EXPECT_TRUE(j["alpha"][0]["softmax_alpha"].contains("k5e2"));
    EXPECT_NE(r.err.find("[darts 2/2]"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("darts: softmax(alpha) stage 0 block 1:"), std::string::npos) << r.err;
    std::ifstream log(out + ".darts.csv");
    std::string header, line;
    std::getline(log, header);
    EXPECT_EQ(header.rfind("step,epoch,lr,train_ce,arch_step,val_ce,loss,expected_latency_ms", 0), 0u) << header;
    int rows = 0;
    while (std::getline(log, line)) ++rows;
    EXPECT_EQ(rows, 2);
    const auto e = run_tern("eval " + out + " --data fashion-mnist --json -t 2");
    ASSERT_EQ(e.code, 0) << e.all();
    EXPECT_NEAR(nlohmann::json::parse(e.out)["accuracy"].get<double>(), j["test_accuracy"].get<double>(), 1e-9);
}

TEST(SearchCli, DartsBudgetBelowTheSmallestArchitectureIsOneError) {
    const std::string out = nas_search_cli_temp_dir() + "/d.safetensors";
    auto r = run_tern("search mobilenet --strategy darts --latency-ms 0.0001 -o " + out);
    EXPECT_EQ(r.code, 1) << r.all();
    EXPECT_NE(r.err.find("meets it"), std::string::npos) << r.err;
    r = run_tern("search mobilenet --strategy darts --macs 1000 -o " + out);
    EXPECT_EQ(r.code, 1) << r.all();
    EXPECT_NE(r.err.find("meets it"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out));
    EXPECT_FALSE(std::filesystem::exists(out + ".darts.csv"));
}

TEST(SearchCli, RlWritesItsStepLogTheHistoryAndTheParetoPlot) {
    REQUIRE_FASHION();
    const std::string dir = nas_search_cli_temp_dir();
    const std::string space = nas_search_cli_write("tiny-rl.json", kTinySpace), out = dir + "/rl.safetensors";
    const std::string hist = dir + "/rl-history.csv", png = dir + "/rl-pareto.png";
    const auto r = run_tern("search " + space + " --strategy rl --params 500 --max-evals 3 --epochs 1 --train-subset 256 "
                            "--seed 4 -t 2 --json --history-csv " + hist + " --pareto-png " + png + " -o " + out);
    ASSERT_EQ(r.code, 0) << r.all();
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["strategy"], "rl");
    EXPECT_LE(j["params"].get<int64_t>(), 500);
    const auto& steps = j["rl_steps"];
    ASSERT_GE(steps.size(), 3u);
    int feasible = 0;
    for (const auto& st : steps) {
        feasible += st["feasible"].get<bool>();
        EXPECT_TRUE(st.contains("reward") && st.contains("baseline") && st.contains("entropy") && st.contains("macs")) << st;
        if (!st["feasible"].get<bool>()) {
            EXPECT_EQ(st["reward"].get<double>(), 0.0);
        }
    }
    EXPECT_EQ(feasible, 3);
    EXPECT_NE(r.err.find("[rl step 1]"), std::string::npos) << r.err;
    std::ifstream steps_csv(out + ".rl.csv"), history(hist);
    std::string header, line;
    std::getline(steps_csv, header);
    EXPECT_EQ(header.rfind("step,params,macs,feasible,reused,val_accuracy,reward,baseline", 0), 0u) << header;
    std::getline(history, header);
    EXPECT_EQ(header, "index,arch,params,macs,latency_ms,trained,val_accuracy,pareto_macs,pareto_latency,winner");
    int rows = 0, winners = 0;
    while (std::getline(history, line)) ++rows, winners += line.back() == '1';
    EXPECT_EQ(rows, j["evaluations"].get<int>());
    EXPECT_EQ(winners, 1);
    std::ifstream p(png, std::ios::binary);
    char sig[8] = {};
    p.read(sig, 8);
    EXPECT_EQ(std::string(sig + 1, 3), "PNG");
    // The plot and history work for any strategy, and rl's options only for rl.
    const auto e = run_tern("search " + space + " --strategy random --max-evals 2 --epochs 1 --train-subset 256 -t 2 "
                            "--pareto-png " + dir + "/random.png -o " + dir + "/random.safetensors");
    EXPECT_EQ(e.code, 0) << e.all();
    EXPECT_TRUE(std::filesystem::exists(dir + "/random.png"));
    EXPECT_EQ(run_tern("search mobilenet --strategy evolution --rl-lr 0.1 -o " + dir + "/z.safetensors").code, 2);
    EXPECT_EQ(run_tern("search mobilenet --strategy rl --rl-reward medium -o " + dir + "/z.safetensors").code, 2);
    EXPECT_EQ(run_tern("search mobilenet --strategy rl --pareto-png " + out + " -o " + out).code, 2);
}
