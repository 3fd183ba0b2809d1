#pragma once
// Text reading with the PaddleOCR models on tern's graph runtime: the
// detector's probability map -> text boxes -> each box through the recognizer
// -> CTC greedy decoding against the model's character list. The steps are
// separate functions so tests and other pipelines can use each alone.
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/executor.h"
#include "graph/graph.h"
#include "io/image.h"

namespace tern::vision {

// Bilinear resize (pixel centres aligned, as OpenCV's INTER_LINEAR).
RgbImage resize_rgb(const RgbImage& img, int64_t width, int64_t height);
// (1, 3, H, W) float32, channels in B, G, R order (PaddleOCR reads images with
// OpenCV), (v / 255 - mean[c]) / stdev[c].
Tensor paddle_tensor(const RgbImage& img, const float mean[3], const float stdev[3]);
// The detector's input: resized so both sides are multiples of 32, the longer at most max_side.
Tensor detector_input(const RgbImage& img, int64_t max_side);
// The recognizer's input: height 48, width by aspect ratio (at least 16, a multiple of 8), (x/255-0.5)/0.5.
Tensor recognizer_input(const RgbImage& crop);

struct TextBox {
    int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // pixel rectangle in the image, x1/y1 exclusive
    float score = 0;                          // mean probability inside the region
};
// Connected regions of prob > threshold in the (1, 1, h, w) map, kept when their mean
// probability reaches box_threshold, grown by unclip_ratio (DBNet's area * ratio /
// perimeter) and scaled to an image of image_width x image_height. Sorted top to bottom, left to right.
std::vector<TextBox> text_boxes(const Tensor& prob, int64_t image_width, int64_t image_height, float threshold = 0.3f,
                                float box_threshold = 0.6f, float unclip_ratio = 1.5f);

// ppocr_keys_v1.txt's characters in class order: class 0 is CTC's blank, then one per line, then " ".
std::vector<std::string> read_character_list(const std::string& path);
// Greedy CTC over (1, T, C) class probabilities: best class per step, repeats merged, blanks dropped.
std::string ctc_greedy_decode(const Tensor& probs, const std::vector<std::string>& characters, float* confidence = nullptr);

struct TextLine {
    TextBox box;
    std::string text;
    float confidence = 0;
};

class OcrReader {
public:
    OcrReader(const std::string& detector_onnx, const std::string& recognizer_onnx, const std::string& keys_txt);
    // Lines found in the image, top to bottom.
    std::vector<TextLine> read(const RgbImage& img, int64_t max_side = 960) const;
    // The recognizer alone on an image holding one line of text.
    TextLine read_line(const RgbImage& line) const;

private:
    graph::Graph det_graph_, rec_graph_;
    std::unique_ptr<graph::Executor> det_, rec_;
    std::vector<std::string> characters_;
};

}  // namespace tern::vision
