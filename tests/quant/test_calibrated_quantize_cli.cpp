// `tern quantize --method gptq|awq|awq+gptq` on the embedded tinylm: calibrated
// on the corpus' training split, judged on its test split (text the method
// never saw), against round to nearest on the same grid; and the refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_runner.h"
#include "io/gguf_reader.h"
#include "io/io_test_util.h"
#include "io/tensor_names.h"
#include "io/text_corpus.h"
#include "ref/reference.h"
#include "quant/quant_cli_util.h"

namespace tern {
namespace {

using quanttest::corpus_installed;
using quanttest::test_split_ppl;
using quanttest::tinylm;

TEST(CalibratedQuantizeCli, GptqLowersTheTestSplitPerplexityOfRoundToNearestAtThreeBits) {
    if (!corpus_installed()) TERN_MISSING_REFERENCE() << "text corpus not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    const std::string common = " --format int3g128 --calib text:train --calib-tokens 1024 --calib-ctx 128 "
                               "--skip-roles embed,output --json -t 2";
    const std::string rtn = dir.file("rtn.gguf"), gptq = dir.file("gptq.gguf");
    const auto r1 = testcli::run_tern("quantize " + tinylm() + " -o " + rtn + " --method rtn" + common);
    ASSERT_EQ(r1.code, 0) << r1.err;
    const auto r2 = testcli::run_tern("quantize " + tinylm() + " -o " + gptq + " --method gptq" + common);
    ASSERT_EQ(r2.code, 0) << r2.err;

    // Every block Linear is int3g128 and was GPTQ'd; the tied embedding/head is kept.
    const auto report = nlohmann::json::parse(r2.out);
    int gptq_rows = 0;
    for (const auto& t : report["tensors"]) {
        const std::string name = t["name"];
        const io::TensorRole role = io::tensor_role_of(name).role;
        if (role == io::TensorRole::token_embd) {
            EXPECT_EQ(t.value("note", ""), "kept") << name;
            EXPECT_EQ(t["to"], t["from"]) << name;
        }
        if (t.value("note", "").starts_with("gptq")) {
            ++gptq_rows;
            EXPECT_EQ(t["to"], "int3g128") << name;
        }
    }
    EXPECT_EQ(gptq_rows, 4 * 7) << r2.out;  // q, k, v, o, gate, up, down in each of 4 layers

    const double ppl_rtn = test_split_ppl(rtn, 24), ppl_gptq = test_split_ppl(gptq, 24);
    ASSERT_TRUE(std::isfinite(ppl_rtn) && std::isfinite(ppl_gptq));
    EXPECT_LT(ppl_gptq, ppl_rtn * 0.995) << "rtn " << ppl_rtn << " gptq " << ppl_gptq;
    std::printf("[ gptq ] tinylm int3g128, test split 24 x 256 tokens: rtn ppl %.4f, gptq %.4f\n", ppl_rtn, ppl_gptq);
}

TEST(CalibratedQuantizeCli, AwqFoldsItsScalesAndTheModelStillRuns) {
    if (!corpus_installed()) TERN_MISSING_REFERENCE() << "text corpus not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    const std::string out = dir.file("awq.gguf");
    const auto r = testcli::run_tern("quantize " + tinylm() + " -o " + out +
                                     " --method awq --format q4_0 --calib-tokens 256 --calib-ctx 64 -t 2");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("blk.3.ffn_down: alpha"), std::string::npos) << r.out;
    // The norms carry the folded scales: attn_norm differs from the input's.
    const io::GgufModel in = io::read_gguf(tinylm()), q = io::read_gguf(out);
    auto norm = [](const io::GgufModel& m) {
        for (const auto& t : m.tensors)
            if (t.name == "blk.0.attn_norm.weight") return t.tensor.to_floats();
        return std::vector<float>{};
    };
    ASSERT_FALSE(norm(in).empty());
    EXPECT_NE(norm(in), norm(q));
    EXPECT_TRUE(std::isfinite(test_split_ppl(out, 2)));  // runs at all; the quality checks are GPTQ's and the long tests'
}

TEST(CalibratedQuantizeCli, BadRequestsAreOneLineBeforeAnythingIsWritten) {
    testio::TempDir dir;
    const std::string out = dir.file("x.gguf");
    struct Case {
        std::string args;
        int code;
        std::string says;
    };
    const std::string classifier = std::string(TERN_SOURCE_DIR) + "/models/fmnist-lenet5.safetensors";
    const std::string short_text = dir.file("short.txt");
    std::ofstream(short_text) << "Too short.";
    for (const Case& c : {
             Case{tinylm() + " --method gptq --format q8_0", 2,
                  "gptq writes tern's int4g128, int3g128 and int2g128, the GGUF block types"},
             Case{tinylm() + " --method awq+gptq --format q5_0", 2, "awq+gptq writes tern's"},
             Case{tinylm() + " --method rtn --format int4g128 --skip-roles embed,bogus", 2, "unknown role 'bogus'"},
             Case{tinylm() + " --method gptq --format int4g128 --calib text:" + dir.file("none.txt"), 1, "none.txt"},
             Case{tinylm() + " --method gptq --format int4g128 --calib text:" + short_text + " --calib-tokens 5000", 1,
                  "short.txt"},
             Case{classifier + " --method awq --format int4g128", 1, "calibrates a language model"},
         }) {
        SCOPED_TRACE(c.args);
        const auto r = testcli::run_tern("quantize " + c.args + " -o " + out);
        EXPECT_EQ(r.code, c.code) << r.err;
        EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_FALSE(std::filesystem::exists(out));
    }
}

}  // namespace
}  // namespace tern
