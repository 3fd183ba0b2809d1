#pragma once
// The observer interface of a forward pass: a runtime (llm::Session, later the
// graph executor) calls on_linear once after every weight matmul with the
// weight's role and layer, its input rows and its output rows. Calibration
// statistics (ops/calibration_stats.h) and the methods that need a layer's
// inputs (AWQ, GPTQ, SmoothQuant, Wanda) depend on this header only, never on
// the runtime that feeds them. llama.cpp's cb_eval plays the same part for its
// imatrix tool.
#include <cstdint>

#include "io/tensor_role.h"

namespace tern::ops {

// One weight matmul y = x @ W^T (+ bias, fused activation) as it ran.
// Pointers are valid during on_linear only.
struct LinearCall {
    io::RoleOf role;           // attn_q ... ffn_down with its layer; output (layer -1) for the head
    const float* x = nullptr;  // (rows, in_features) input rows
    int64_t rows = 0;
    int64_t in_features = 0;
    const float* y = nullptr;  // (rows, out_features) output rows, after any fused activation
    int64_t out_features = 0;
};

class LinearObserver {
public:
    virtual ~LinearObserver() = default;
    virtual void on_linear(const LinearCall& call) = 0;
};

}  // namespace tern::ops
