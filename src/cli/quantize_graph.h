#pragma once
// tern quantize MODEL(.safetensors classifier | .onnx | .tflite) -o OUT.onnx: static
// int8 post-training quantization of a graph model into a QDQ ONNX file
// (quant/graph_ptq.h). cmd_quantize.cpp sends .onnx outputs here.
#include <string>

namespace tern::cli {

struct QuantizeGraphOptions {
    std::string model;
    std::string output;
    std::string method;  // observer, or adaround (min-max activations); empty: minmax
    std::string calib;   // fashion-mnist:train:N; empty: fashion-mnist:train:512
    std::string acts;    // uint8 (default) or int8
    bool symmetric_acts = false;
    bool json = false;
    std::string weights;         // int8 (default), int4, int2
    int adaround_iters = 0;      // 0: AdaroundOptions' default (only with --method adaround)
    bool bias_correction = false;
    bool equalize = false;
};

void run_quantize_graph(const QuantizeGraphOptions& o);

}  // namespace tern::cli
