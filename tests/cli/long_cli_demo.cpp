// `tern demo` end to end: every step of its table and the language-model
// sample. Long label: it evaluates three classifiers (MobileNetV2 in int4 is
// the slowest step) and probes kernel speed, minutes on a loaded 2-core box.
#include <gtest/gtest.h>

#include <string>

#include "cli/cli_runner.h"

namespace {

TEST(CliDemo, EveryStepReportsAResult) {
    const auto r = tern::testcli::run_tern("demo");
    ASSERT_EQ(r.code, 0) << r.err;
    for (const char* step : {"cpu ", "number formats", "eval fmnist-lenet300", "eval fmnist-lenet5",
                             "eval fmnist-mobilenetv2_tiny", "graph runtime", "int8 graph", "w4a8 adaround", "ocr ", "language model", "calibrate", "gptq", "imatrix", "smoothquant", "prune ", "2:4 sparse file", "kmeans", "distill", "qat + distill", "search", "batched decode", "quantize a model",
                             "kernel speed"})
        EXPECT_NE(r.out.find(step), std::string::npos) << step << " missing from:\n" << r.out;
    EXPECT_NE(r.out.find("Fashion-MNIST test accuracy f32"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("test-split ppl"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("tinylm sample"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Hessian X^T X"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("8 together"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("test-split ppl: rtn"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("test-split ppl: plain"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("smoothquant (alpha 0.8)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("50 % sparse, test-split ppl: magnitude"), std::string::npos) << r.out;
    // The exported ONNX file runs in the graph runtime with the trained model's every prediction.
    EXPECT_NE(r.out.find("10000/10000 predictions identical"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Conv/Gemm integer-only: test accuracy"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("% with AdaRound"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("taught by mobilenetv2_tiny"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("QAT taught by its fp32 self"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("sparse24_q8"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("4-bit K-means + Huffman"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("under 40 K params scored by NASWOT"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("failed:"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("(differs)"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("nan"), std::string::npos) << r.out;
}

}  // namespace
