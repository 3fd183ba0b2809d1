#pragma once
// PyTorch answers for the fake-quant op tests: every case goes to
// tests/ref/qat_ref.py in ONE python run (importing torch costs seconds),
// cached under the content hash of (inputs, script) as tests/nn/torch_ref.h does.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "nn/torch_ref.h"

namespace tern::quant::test {

using nn::test::RefCase;

// torch's outputs for `cases` ("case/name"); empty with an unusable reference when torch is missing.
inline nn::test::TorchRef qat_torch_outputs(const std::vector<RefCase>& cases) {
    return nn::test::run_torch_cases("qat_ref.py", cases, "tern_qat_ref_cache");
}

}  // namespace tern::quant::test
