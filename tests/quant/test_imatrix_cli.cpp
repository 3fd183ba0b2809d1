// `tern quantize --method imatrix` on the embedded tinylm: importance-weighted
// block scales from train-split calibration, judged on the test split against
// the plain mix; the same file from a reused `tern calibrate` statistics file;
// and the refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli_runner.h"
#include "core/tensor.h"
#include "io/gguf_writer.h"
#include "io/io_test_util.h"
#include "io/text_corpus.h"
#include "ref/reference.h"

namespace tern {
namespace {

std::string tinylm() { return std::string(TERN_SOURCE_DIR) + "/models/tinylm.gguf"; }

bool corpus_installed() { return load_text_corpus().missing_sources.empty(); }

double test_split_ppl(const std::string& model) {
    const auto r = testcli::run_tern("eval " + model + " --data text:test -c 256 --chunks 16 --json -t 2");
    EXPECT_EQ(r.code, 0) << r.err;
    if (r.code != 0) return NAN;
    return nlohmann::json::parse(r.out).value("ppl", NAN);
}

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const std::string kCalib = " --calib text:train --calib-tokens 1024 --calib-ctx 128 -t 2";

TEST(ImatrixCli, Q4KMIsNoWorseThanThePlainMixOnTheTestSplit) {
    if (!corpus_installed()) TERN_MISSING_REFERENCE() << "text corpus not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    const std::string plain = dir.file("plain.gguf"), imat = dir.file("imatrix.gguf");
    const auto r1 = testcli::run_tern("quantize " + tinylm() + " -o " + plain + " --format q4_k_m -t 2");
    ASSERT_EQ(r1.code, 0) << r1.err;
    const auto r2 = testcli::run_tern("quantize " + tinylm() + " -o " + imat + " --method imatrix --format q4_k_m --json" + kCalib);
    ASSERT_EQ(r2.code, 0) << r2.err;
    // Every block Linear and the tied head went through the weighted search.
    int weighted = 0;
    for (const auto& t : nlohmann::json::parse(r2.out)["tensors"])
        if (t.value("note", "").starts_with("imatrix")) ++weighted;
    EXPECT_EQ(weighted, 4 * 7 + 1) << r2.out;
    EXPECT_EQ(file_bytes(plain).size(), file_bytes(imat).size());  // same mix, same types
    const double ppl_plain = test_split_ppl(plain), ppl_imatrix = test_split_ppl(imat);
    ASSERT_TRUE(std::isfinite(ppl_plain) && std::isfinite(ppl_imatrix));
    EXPECT_LE(ppl_imatrix, ppl_plain) << "plain " << ppl_plain << " imatrix " << ppl_imatrix;
    std::printf("[ imatrix ] tinylm q4_k_m, test split 16 x 256 tokens: plain ppl %.4f, imatrix %.4f\n", ppl_plain,
                ppl_imatrix);
}

TEST(ImatrixCli, AStatisticsFileFromCalibrateGivesTheSameFileAsCalibratingInPlace) {
    if (!corpus_installed()) TERN_MISSING_REFERENCE() << "text corpus not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    const std::string stats = dir.file("stats.gguf"), a = dir.file("a.gguf"), b = dir.file("b.gguf");
    const auto rc = testcli::run_tern("calibrate " + tinylm() + " -o " + stats + " --stats meansq --fpmath auto" + kCalib);
    ASSERT_EQ(rc.code, 0) << rc.err;
    const auto ra = testcli::run_tern("quantize " + tinylm() + " -o " + a + " --method imatrix --format q3_k" + kCalib);
    ASSERT_EQ(ra.code, 0) << ra.err;
    const auto rb = testcli::run_tern("quantize " + tinylm() + " -o " + b + " --method imatrix --format q3_k --imatrix " +
                                      stats + " -t 2");
    ASSERT_EQ(rb.code, 0) << rb.err;
    EXPECT_TRUE(file_bytes(a) == file_bytes(b));
    // And it is not round to nearest.
    const std::string rtn = dir.file("rtn.gguf");
    ASSERT_EQ(testcli::run_tern("quantize " + tinylm() + " -o " + rtn + " --format q3_k -t 2").code, 0);
    EXPECT_FALSE(file_bytes(a) == file_bytes(rtn));
}

TEST(ImatrixCli, BadRequestsAreOneLineBeforeAnythingIsWritten) {
    testio::TempDir dir;
    const std::string out = dir.file("x.gguf");
    // Statistics without in_meansq, and statistics of the wrong width.
    const std::string absmax_only = dir.file("absmax.gguf"), wrong_width = dir.file("wrong.gguf");
    const std::string nan_stats = dir.file("nan.gguf");
    auto stats_file = [](const std::string& path, const std::string& name, std::vector<float> v) {
        const Shape shape{static_cast<int64_t>(v.size())};
        io::write_gguf(path, {}, {NamedTensor{name, Tensor::from_floats(shape, v)}});
    };
    stats_file(absmax_only, "blk.0.attn_q.in_absmax", {1, 2, 3, 4});
    stats_file(wrong_width, "blk.0.attn_q.in_meansq", {1, 2, 3, 4});
    stats_file(nan_stats, "blk.0.attn_q.in_meansq", {1, NAN});
    struct Case {
        std::string args;
        int code;
        std::string says;
    };
    for (const Case& c : {
             Case{tinylm() + " --method rtn --format q4_k --imatrix " + wrong_width, 2, "--method imatrix only"},
             Case{tinylm() + " --method imatrix --format q8_0", 2, "imatrix targets the GGUF block types"},
             Case{tinylm() + " --method imatrix --format int4g128", 2, "imatrix targets the GGUF block types"},
             Case{tinylm() + " --method imatrix --format q4_k --imatrix " + dir.file("none.gguf"), 1, "none.gguf"},
             Case{tinylm() + " --method imatrix --format q4_k --imatrix " + absmax_only, 1, "no '<weight>.in_meansq'"},
             Case{tinylm() + " --method imatrix --format q4_k --imatrix " + wrong_width, 1, "columns but its statistics 4"},
             Case{tinylm() + " --method imatrix --format q4_k --imatrix " + nan_stats, 1, "NaN or Inf"},
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
