#pragma once
// tern quantize MODEL(.safetensors classifier | .onnx | .tflite) -o OUT.onnx: static
// int8 post-training quantization of a graph model into a QDQ ONNX file
// (quant/graph_ptq.h). cmd_quantize.cpp sends .onnx outputs here; --method
// mixed goes on to cli/quantize_mixed.h.
#include <string>

namespace tern::cli {

struct QuantizeGraphOptions {
    std::string model;
    std::string output;
    std::string method;  // observer, or adaround (min-max activations); empty: minmax
    std::string calib;   // fashion-mnist:train:N, images:DIR[:N], npy:FILE; empty: fashion-mnist:train:512
    std::string acts;    // uint8 (default) or int8
    bool symmetric_acts = false;
    bool json = false;
    std::string weights;         // int8 (default), int4, int2
    int adaround_iters = 0;      // 0: AdaroundOptions' default (only with --method adaround)
    bool bias_correction = false;
    bool equalize = false;
    // --method mixed (cli/quantize_mixed.h): one budget, the widths, the plot
    double avg_bits = 0;         // 0: not given
    double size_kb = 0;          // 0: not given
    std::string bit_choices;     // empty: 8,6,4,2
    std::string pareto_png;
    int64_t val_images = 0;      // 0: the default count
    // --calib images:DIR only (vision/calibration_set.h): the pictures' CxHxW
    // (empty: the model's input shape) and normalisation (required).
    std::string calib_shape;
    std::string calib_norm;
};

void run_quantize_graph(const QuantizeGraphOptions& o);

}  // namespace tern::cli
