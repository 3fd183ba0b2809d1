// Every ONNX operator conformance test (Debian libonnx-testdata, data/node/*)
// whose ops tern runs: imported, executed and compared at onnx's backend-test
// tolerance. Tests with an op tern does not run are counted, not run.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "conformance_runner.h"
#include "ref/reference.h"

namespace {

namespace fs = std::filesystem;
using tern::testgraph::CaseResult;

const char* kNodeTests = "/usr/share/libonnx-testdata/data/node";

// The pass count this slice reached (see the printed list); a drop is a regression.
constexpr int kMinPasses = 362;  // measured after If, the comparison and logic ops; a drop is a regression

TEST(OnnxConformance, NodeTestsOfImplementedOpsPass) {
    if (!fs::is_directory(kNodeTests)) TERN_MISSING_REFERENCE() << kNodeTests << " not found (apt libonnx-testdata; run scripts/setup.sh)";
    std::vector<std::string> dirs;
    for (const auto& e : fs::directory_iterator(kNodeTests)) {
        if (fs::exists(e.path() / "model.onnx")) dirs.push_back(e.path().string());
    }
    std::sort(dirs.begin(), dirs.end());
    std::vector<std::string> passed, failed;
    int unsupported = 0;
    for (const std::string& dir : dirs) {
        const CaseResult r = tern::testgraph::run_conformance_case(dir);
        const std::string name = fs::path(dir).filename().string();
        if (r.status == CaseResult::Status::pass) passed.push_back(name);
        if (r.status == CaseResult::Status::fail) failed.push_back(name + ": " + r.detail);
        if (r.status == CaseResult::Status::unsupported) {
            ++unsupported;
            if (std::getenv("TERN_CONFORMANCE_VERBOSE")) std::cout << "unsupported " << name << ": " << r.detail << "\n";
        }
    }
    std::cout << "ONNX node conformance: " << passed.size() << " passed, " << failed.size() << " failed, "
              << unsupported << " not run (an op or opset tern lacks) of " << dirs.size() << "\n";
    std::cout << "passed:";
    for (const auto& p : passed) std::cout << " " << p;
    std::cout << "\n";
    for (const auto& f : failed) std::cout << "FAILED " << f << "\n";
    EXPECT_GE(static_cast<int>(passed.size()), kMinPasses);
}

// The ops with prepared steps, through the planned executor: every case the
// reference executor passes passes there too, and most of them ran with no
// reference node (weights, scales and sizes made constants, as in real models).
TEST(OnnxConformance, PlannedExecutorPassesThePreparedOpsCases) {
    if (!fs::is_directory(kNodeTests)) TERN_MISSING_REFERENCE() << kNodeTests << " not found (apt libonnx-testdata; run scripts/setup.sh)";
    const std::vector<std::string> prefixes{"test_convtranspose", "test_resize_", "test_upsample_", "test_concat_",
                                            "test_conv_", "test_maxpool_2d", "test_globalaveragepool", "test_gemm_",
                                            "test_matmul_", "test_add", "test_sub", "test_mul", "test_div"};
    int cases = 0, prepared = 0;
    for (const auto& e : fs::directory_iterator(kNodeTests)) {
        const std::string name = e.path().filename().string();
        if (!fs::exists(e.path() / "model.onnx")) continue;
        if (std::none_of(prefixes.begin(), prefixes.end(), [&](const std::string& p) { return name.rfind(p, 0) == 0; })) continue;
        if (tern::testgraph::run_conformance_case(e.path().string()).status != CaseResult::Status::pass) continue;
        ++cases;
        const CaseResult r = tern::testgraph::run_conformance_case_planned(e.path().string(), 1, &prepared);
        EXPECT_EQ(r.status, CaseResult::Status::pass) << name << ": " << r.detail;
    }
    std::cout << cases << " cases through the planned executor, " << prepared << " data sets with every node prepared\n";
    EXPECT_GE(cases, 87);     // measured: 87 cases, 77 data sets all prepared; a drop is a regression
    EXPECT_GE(prepared, 77);
}

}  // namespace
