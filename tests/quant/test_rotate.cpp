// QuaRot-style rotation (quant/rotate.h) on the embedded tinylm: the rotated
// float model computes the same logits (with and without the online Hadamard,
// whose removal is shown to matter), the transformed Hessians equal those of a
// second calibration pass over the rotated model, and the CLI refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli_runner.h"
#include "core/error.h"
#include "formats/format.h"
#include "formats/tensor_codec.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "io/io_test_util.h"
#include "io/tensor_names.h"
#include "io/text_corpus.h"
#include "llm/forward.h"
#include "llm/model_config.h"
#include "llm/model_loader.h"
#include "quant/calibration.h"
#include "quant/rotate.h"
#include "ref/reference.h"
#include "quant/quant_cli_util.h"

namespace tern {
namespace {

using quanttest::test_split_ppl;

std::string rotate_tinylm() { return std::string(TERN_SOURCE_DIR) + "/models/tinylm.gguf"; }

std::vector<float> rotate_logits_of(const std::string& path, const std::vector<int32_t>& tokens) {
    const auto model = llm::load_model(path, {.float_math = ops::FloatMath::exact});
    llm::Session session(*model, {.n_ctx = 64});
    std::vector<float> logits;
    session.eval(tokens, logits, /*all_logits=*/true);
    return logits;
}

// ||a - b|| / ||a||
double relative_distance(const std::vector<float>& a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]), den += double(a[i]) * a[i];
    return std::sqrt(num / den);
}

quant::QuantizeFileRequest rotate_request(const std::string& out, bool online) {
    quant::QuantizeFileRequest req;
    req.input = rotate_tinylm();
    req.output = out;
    req.format_name = "f32";
    req.recipe.method = "rotate";
    req.recipe.format = &format_by_name("f32");
    req.recipe.rotate = {.seed = 5, .online = online};
    return req;
}

const std::vector<int32_t> kTokens = {1, 400, 17, 1023, 88, 5, 300, 250, 9, 42, 777, 3, 64, 128, 19, 600};

TEST(Rotate, RotatedFloatModelGivesTheSameLogits) {
    testio::TempDir dir;
    const std::vector<float> want = rotate_logits_of(rotate_tinylm(), kTokens);
    for (bool online : {false, true}) {
        const std::string out = dir.file(online ? "online.gguf" : "rot.gguf");
        quant::quantize_file(rotate_request(out, online));
        const std::vector<float> got = rotate_logits_of(out, kTokens);
        ASSERT_EQ(got.size(), want.size());
        EXPECT_LT(relative_distance(want, got), 1e-3) << "online " << online;

        // The head is untied, every norm is 1, the seed is in the file.
        const io::GgufModel g = io::read_gguf(out);
        bool has_output = false, has_marker = false;
        for (const NamedTensor& t : g.tensors) {
            const io::TensorRole role = io::tensor_role_of(t.name).role;
            has_output = has_output || t.name == "output.weight";
            has_marker = has_marker || t.name == llm::kFfnDownHadamardKey;  // makes llama.cpp refuse the file
            if (role == io::TensorRole::attn_norm || role == io::TensorRole::ffn_norm || role == io::TensorRole::output_norm) {
                for (float v : tensor_to_f32(t.tensor, t.name)) ASSERT_EQ(v, 1.0f) << t.name;
            }
        }
        EXPECT_TRUE(has_output);
        EXPECT_EQ(has_marker, online);
        const io::GgufValue* seed = io::find_metadata(g.info.metadata, "tern.rotation.seed");
        ASSERT_NE(seed, nullptr);
        EXPECT_EQ(seed->u, 5u);
        EXPECT_EQ(io::find_metadata(g.info.metadata, llm::kFfnDownHadamardKey) != nullptr, online);

        // The runtime op matters: the same weights without the key compute other logits.
        if (online) {
            io::GgufMetadata md;
            for (const auto& kv : g.info.metadata)
                if (kv.first != llm::kFfnDownHadamardKey) md.push_back(kv);
            const std::string stripped = dir.file("stripped.gguf");
            io::write_gguf(stripped, md, g.tensors);
            EXPECT_GT(relative_distance(want, rotate_logits_of(stripped, kTokens)), 1e-2);
            // A block the ffn width (768) cannot hold is refused at load, naming the key.
            md.emplace_back(llm::kFfnDownHadamardKey, io::GgufValue::of_u32(512));
            io::write_gguf(stripped, md, g.tensors);
            try {
                llm::load_model(stripped);
                ADD_FAILURE() << "a 512 block over 768 loaded";
            } catch (const InputError& e) {
                EXPECT_NE(std::string(e.what()).find(llm::kFfnDownHadamardKey), std::string::npos) << e.what();
            }
        }
    }
}

TEST(Rotate, TransformedHessiansEqualThoseOfTheRotatedModel) {
    if (!load_text_corpus().missing_sources.empty()) TERN_MISSING_REFERENCE() << "text corpus not installed";
    testio::TempDir dir;
    const std::string out = dir.file("online.gguf");
    quant::quantize_file(rotate_request(out, /*online=*/true));
    quant::TensorModel m;
    {
        io::GgufModel g = io::read_gguf(rotate_tinylm());
        m.gguf_metadata = g.info.metadata;
        m.tensors = g.tensors;
        m.is_llm = true;
    }
    const quant::Rotation rot = quant::rotate_model(m, {.seed = 5, .online = true}).rotation;
    auto stats_of = [](const std::string& path) {
        quant::CalibrateOptions o;
        o.model = path;
        o.n_tokens = 256;
        o.ctx = 64;
        o.stats = {.hessian = true};
        o.load.float_math = ops::FloatMath::exact;
        return quant::collect_linear_statistics(o);
    };
    const quant::LinearStatistics before = stats_of(rotate_tinylm()), after = stats_of(out);
    for (io::RoleOf role : {io::RoleOf{io::TensorRole::attn_q, 0}, io::RoleOf{io::TensorRole::ffn_up, 1},
                            io::RoleOf{io::TensorRole::ffn_down, 2}, io::RoleOf{io::TensorRole::attn_output, 3},
                            io::RoleOf{io::TensorRole::output, -1}}) {
        const std::vector<double> want = after.collector->find(role)->hessian_sum();
        const std::vector<double> got = quant::rotated_hessian(rot, role, before.collector->find(role)->hessian_sum());
        ASSERT_EQ(got.size(), want.size());
        double num = 0, den = 0;
        for (size_t i = 0; i < got.size(); ++i) num += (got[i] - want[i]) * (got[i] - want[i]), den += want[i] * want[i];
        EXPECT_LT(std::sqrt(num / den), 1e-3) << io::tensor_role_name(role.role) << " layer " << role.layer;
    }
}

TEST(Rotate, OptionsAndInputsItCannotTakeAreRefused) {
    testio::TempDir dir;
    const std::string out = dir.file("o.gguf");
    auto r = testcli::run_tern("quantize " + rotate_tinylm() + " -o " + out + " --method gptq --format int4g128 --rotate-online");
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("--rotate-online"), std::string::npos) << r.err;
    r = testcli::run_tern("quantize " + rotate_tinylm() + " -o " + out + " --method rotate --format q8_0 --rotate-seed -1");
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("0 to 9223372036854775807"), std::string::npos) << r.err;
    r = testcli::run_tern("quantize " + rotate_tinylm() + " -o " + out + " --method rotate+gptq --format q8_0");
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("int4g128"), std::string::npos) << r.err;

    // A file with the online Hadamard: no second one, and no AWQ (its fold crosses the op).
    const std::string online = dir.file("online.gguf");
    quant::quantize_file(rotate_request(online, true));
    r = testcli::run_tern("quantize " + online + " -o " + out + " --method rotate --format q8_0 --rotate-online");
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("already has an online Hadamard"), std::string::npos) << r.err;
    r = testcli::run_tern("quantize " + online + " -o " + out + " --method awq --format q4_0 --calib-tokens 64");
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("online Hadamard"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out));
}

// Kept short for the sanitizer builds: a small calibration set, 8 windows of
// the test split. On tinylm the rotation does not beat GPTQ or even RTN at
// g128 (measured: see the rotate rows of the PTQ results table), so this
// checks that the file loads, runs and stays near RTN, not that it wins. On a
// GGUF grid (q3_k) GPTQ rounds onto the block scales ggml's quantizer fits.
TEST(RotateCli, RotateGptqOnTheQ3KGridLoadsRunsAndStaysNearRoundToNearest) {
    if (!load_text_corpus().missing_sources.empty()) TERN_MISSING_REFERENCE() << "text corpus not installed";
    testio::TempDir dir;
    const std::string common = " --format q3_k --skip-roles embed,output --json -t 2";
    const std::string rtn = dir.file("rtn.gguf"), rot = dir.file("rot.gguf");
    const auto r1 = testcli::run_tern("quantize " + rotate_tinylm() + " -o " + rtn + " --method rtn" + common);
    ASSERT_EQ(r1.code, 0) << r1.err;
    const auto r2 = testcli::run_tern("quantize " + rotate_tinylm() + " -o " + rot + " --method rotate+gptq --calib text:train "
                                      "--calib-tokens 512 --calib-ctx 128" + common);
    ASSERT_EQ(r2.code, 0) << r2.err;
    const auto report = nlohmann::json::parse(r2.out);
    int gptq_rows = 0;
    for (const auto& t : report["tensors"])
        if (t.value("note", "").starts_with("gptq")) ++gptq_rows;
    EXPECT_EQ(gptq_rows, 4 * 7) << r2.out;  // every block Linear; embedding and head kept
    const double ppl_rtn = test_split_ppl(rtn, 8), ppl_rot = test_split_ppl(rot, 8);
    ASSERT_TRUE(std::isfinite(ppl_rtn) && std::isfinite(ppl_rot));
    EXPECT_LT(ppl_rot, ppl_rtn * 1.05) << "rtn " << ppl_rtn << " rotate+gptq " << ppl_rot;
    std::printf("[ rotate ] tinylm q3_k, test split 8 x 256 tokens: rtn ppl %.4f, rotate+gptq %.4f\n", ppl_rtn, ppl_rot);
}

}  // namespace
}  // namespace tern
