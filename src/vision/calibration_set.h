#pragma once
// Calibration sets for static graph quantization of models that do not read
// Fashion-MNIST (`tern quantize M.onnx -o q.onnx --calib images:DIR[:N] |
// npy:FILE.npy`): pictures from a folder, resized and normalised exactly as the
// caller says (no guessing from the model), or a float batch already prepared.
//   fashion-mnist:train[:N]   the first N training images (the CLI loads them)
//   images:DIR[:N]            the first N pictures (.png / .jpg / .jpeg, by name) of DIR; all without N
//   npy:FILE                  an f32 .npy batch (N, ...) of the model input's rank
#include <cstdint>
#include <string>

#include "core/tensor.h"
#include "vision/image_tensor.h"

namespace tern::vision {

struct GraphCalibSource {
    enum class Kind { fashion_mnist, images, npy };
    Kind kind = Kind::fashion_mnist;
    std::string path;   // fashion_mnist: the split ("train"); images: the folder; npy: the file
    int64_t count = 0;  // fashion_mnist / images: how many (0: the default, 512 / every picture)
    std::string spec;   // as given, for messages
};

// UsageError naming --calib for any other form (the message lists the forms),
// for a fashion-mnist split other than train (test images would flatter the
// accuracy measured on them) and for a count that is not a number; InputError
// for a count of 0.
GraphCalibSource parse_graph_calib(const std::string& spec);

// (N, C, H, W) f32: the first `count` pictures of `dir` (sorted by name; 0 =
// all) resized to width x height and normalised by `norm` (3 channels). InputError
// naming the folder when it is missing or holds no pictures or fewer than count,
// naming the file when a picture cannot be decoded; UsageError naming
// --calib-shape when channels != 3.
Tensor calibration_pictures(const std::string& dir, int64_t count, int64_t channels, int64_t height, int64_t width,
                            ImageNorm norm);

// The .npy batch as f32 (f64 / f16 converted). InputError naming the file when it
// is not an array of floats, holds no rows, or its rank differs from input_rank
// (-1: the model leaves the rank open).
Tensor calibration_npy(const std::string& path, int64_t input_rank);

}  // namespace tern::vision
