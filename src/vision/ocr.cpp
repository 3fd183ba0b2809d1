#include "vision/ocr.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/error.h"
#include "core/read_file.h"
#include "graph/onnx_import.h"

namespace tern::vision {

RgbImage resize_rgb(const RgbImage& img, int64_t width, int64_t height) {
    if (width < 1 || height < 1 || img.width < 1 || img.height < 1) throw InputError("image", "cannot resize an empty image");
    RgbImage out;
    out.width = width;
    out.height = height;
    out.rgb.resize(static_cast<size_t>(width * height * 3));
    const double sx = static_cast<double>(img.width) / static_cast<double>(width);
    const double sy = static_cast<double>(img.height) / static_cast<double>(height);
    for (int64_t y = 0; y < height; ++y) {
        const double fy = std::clamp((y + 0.5) * sy - 0.5, 0.0, static_cast<double>(img.height - 1));
        const int64_t y0 = static_cast<int64_t>(fy), y1 = std::min(y0 + 1, img.height - 1);
        const double wy = fy - static_cast<double>(y0);
        for (int64_t x = 0; x < width; ++x) {
            const double fx = std::clamp((x + 0.5) * sx - 0.5, 0.0, static_cast<double>(img.width - 1));
            const int64_t x0 = static_cast<int64_t>(fx), x1 = std::min(x0 + 1, img.width - 1);
            const double wx = fx - static_cast<double>(x0);
            for (int c = 0; c < 3; ++c) {
                const double top = img.at(y0, x0, c) * (1 - wx) + img.at(y0, x1, c) * wx;
                const double bottom = img.at(y1, x0, c) * (1 - wx) + img.at(y1, x1, c) * wx;
                out.rgb[static_cast<size_t>((y * width + x) * 3 + c)] = static_cast<uint8_t>(std::lround(top * (1 - wy) + bottom * wy));
            }
        }
    }
    return out;
}

Tensor paddle_tensor(const RgbImage& img, const float mean[3], const float stdev[3]) {
    Tensor t = Tensor::empty({1, 3, img.height, img.width}, DType::f32);
    float* p = t.data<float>();
    const int64_t plane = img.height * img.width;
    for (int64_t i = 0; i < plane; ++i) {
        for (int c = 0; c < 3; ++c) {
            const float v = static_cast<float>(img.rgb[static_cast<size_t>(i * 3 + (2 - c))]) / 255.f;
            p[c * plane + i] = (v - mean[c]) / stdev[c];
        }
    }
    return t;
}

Tensor detector_input(const RgbImage& img, int64_t max_side) {
    const double ratio = std::min(1.0, static_cast<double>(max_side) / static_cast<double>(std::max(img.width, img.height)));
    auto side = [ratio](int64_t v) { return std::max<int64_t>(32, (static_cast<int64_t>(std::lround(v * ratio)) + 16) / 32 * 32); };
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, stdev[3] = {0.229f, 0.224f, 0.225f};
    return paddle_tensor(resize_rgb(img, side(img.width), side(img.height)), mean, stdev);
}

Tensor recognizer_input(const RgbImage& crop) {
    constexpr int64_t kHeight = 48;
    const double aspect = static_cast<double>(crop.width) / static_cast<double>(std::max<int64_t>(crop.height, 1));
    const int64_t width = std::max<int64_t>(16, (static_cast<int64_t>(std::ceil(kHeight * aspect)) + 7) / 8 * 8);
    static const float mean[3] = {0.5f, 0.5f, 0.5f}, stdev[3] = {0.5f, 0.5f, 0.5f};
    return paddle_tensor(resize_rgb(crop, width, kHeight), mean, stdev);
}

std::vector<TextBox> text_boxes(const Tensor& prob, int64_t image_width, int64_t image_height, float threshold,
                                float box_threshold, float unclip_ratio) {
    if (prob.rank() != 4 || prob.dim(0) != 1 || prob.dim(1) != 1) {
        throw InputError("detector", "probability map has shape " + shape_to_string(prob.shape()) + ", expected (1, 1, H, W)");
    }
    const Tensor map = prob.contiguous();
    const int64_t h = map.dim(2), w = map.dim(3);
    const float* p = map.data<float>();
    std::vector<int32_t> label(static_cast<size_t>(h * w), -1);
    std::vector<TextBox> boxes;
    std::vector<int64_t> stack;
    for (int64_t start = 0; start < h * w; ++start) {
        if (p[start] <= threshold || label[start] >= 0) continue;
        // Flood fill one 4-connected region, tracking its bounds, area and probability sum.
        int64_t x0 = w, y0 = h, x1 = -1, y1 = -1, area = 0;
        double sum = 0;
        stack.assign(1, start);
        label[start] = static_cast<int32_t>(boxes.size());
        while (!stack.empty()) {
            const int64_t i = stack.back();
            stack.pop_back();
            const int64_t y = i / w, x = i % w;
            x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
            ++area;
            sum += p[i];
            const int64_t next[4] = {x > 0 ? i - 1 : -1, x + 1 < w ? i + 1 : -1, y > 0 ? i - w : -1, y + 1 < h ? i + w : -1};
            for (int64_t j : next) {
                if (j >= 0 && label[j] < 0 && p[j] > threshold) {
                    label[j] = label[start];
                    stack.push_back(j);
                }
            }
        }
        TextBox b;
        b.score = static_cast<float>(sum / static_cast<double>(area));
        const double bw = static_cast<double>(x1 - x0 + 1), bh = static_cast<double>(y1 - y0 + 1);
        if (b.score < box_threshold || std::min(bw, bh) < 3) {
            boxes.push_back({});  // keeps labels aligned with indices; dropped below
            boxes.back().score = -1;
            continue;
        }
        // DBNet shrank the text regions by this offset in training; grow them back.
        const double grow = bw * bh * unclip_ratio / (2 * (bw + bh));
        const double sx = static_cast<double>(image_width) / static_cast<double>(w);
        const double sy = static_cast<double>(image_height) / static_cast<double>(h);
        b.x0 = std::clamp<int64_t>(std::lround((x0 - grow) * sx), 0, image_width - 1);
        b.y0 = std::clamp<int64_t>(std::lround((y0 - grow) * sy), 0, image_height - 1);
        b.x1 = std::clamp<int64_t>(std::lround((x1 + 1 + grow) * sx), b.x0 + 1, image_width);
        b.y1 = std::clamp<int64_t>(std::lround((y1 + 1 + grow) * sy), b.y0 + 1, image_height);
        boxes.push_back(b);
    }
    boxes.erase(std::remove_if(boxes.begin(), boxes.end(), [](const TextBox& b) { return b.score < 0; }), boxes.end());
    std::sort(boxes.begin(), boxes.end(), [](const TextBox& a, const TextBox& b) {
        // Same line when their vertical centres are within half a box height.
        const int64_t ca = a.y0 + a.y1, cb = b.y0 + b.y1;
        if (std::llabs(ca - cb) > std::min(a.y1 - a.y0, b.y1 - b.y0)) return ca < cb;
        return a.x0 < b.x0;
    });
    return boxes;
}

std::vector<std::string> read_character_list(const std::string& path) {
    const std::string text = read_whole_file(path);
    std::vector<std::string> chars{""};  // class 0: the CTC blank
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        chars.push_back(line);
        start = end + 1;
    }
    chars.push_back(" ");  // PaddleOCR's use_space_char
    return chars;
}

std::string ctc_greedy_decode(const Tensor& probs, const std::vector<std::string>& characters, float* confidence) {
    if (probs.rank() != 3 || probs.dim(0) != 1) {
        throw InputError("recognizer", "output has shape " + shape_to_string(probs.shape()) + ", expected (1, T, classes)");
    }
    const Tensor t = probs.contiguous();
    const int64_t steps = t.dim(1), classes = t.dim(2);
    if (classes != static_cast<int64_t>(characters.size())) {
        throw InputError("recognizer", format("output has %lld classes, the character list %zu", (long long)classes, characters.size()));
    }
    std::string text;
    double score = 0;
    int64_t kept = 0, previous = -1;
    for (int64_t s = 0; s < steps; ++s) {
        const float* row = t.data<float>() + s * classes;
        const int64_t best = std::max_element(row, row + classes) - row;
        if (best != 0 && best != previous) {
            text += characters[static_cast<size_t>(best)];
            score += row[best];
            ++kept;
        }
        previous = best;
    }
    if (confidence) *confidence = kept ? static_cast<float>(score / static_cast<double>(kept)) : 0.f;
    return text;
}

OcrReader::OcrReader(const std::string& detector_onnx, const std::string& recognizer_onnx, const std::string& keys_txt)
    : det_graph_(graph::import_onnx_file(detector_onnx)),
      rec_graph_(graph::import_onnx_file(recognizer_onnx)),
      det_(std::make_unique<graph::Executor>(det_graph_)),
      rec_(std::make_unique<graph::Executor>(rec_graph_)),
      characters_(read_character_list(keys_txt)) {}

TextLine OcrReader::read_line(const RgbImage& line) const {
    const auto out = rec_->run({{rec_graph_.inputs.at(0), recognizer_input(line)}});
    TextLine result;
    result.box = {0, 0, line.width, line.height, 1.f};
    result.text = ctc_greedy_decode(out.begin()->second, characters_, &result.confidence);
    return result;
}

std::vector<TextLine> OcrReader::read(const RgbImage& img, int64_t max_side) const {
    const auto det_out = det_->run({{det_graph_.inputs.at(0), detector_input(img, max_side)}});
    std::vector<TextLine> lines;
    for (const TextBox& b : text_boxes(det_out.begin()->second, img.width, img.height)) {
        RgbImage crop;
        crop.width = b.x1 - b.x0;
        crop.height = b.y1 - b.y0;
        crop.rgb.reserve(static_cast<size_t>(crop.width * crop.height * 3));
        for (int64_t y = b.y0; y < b.y1; ++y) {
            const auto* row = img.rgb.data() + (y * img.width + b.x0) * 3;
            crop.rgb.insert(crop.rgb.end(), row, row + crop.width * 3);
        }
        TextLine line = read_line(crop);
        line.box = b;
        lines.push_back(std::move(line));
    }
    return lines;
}

}  // namespace tern::vision
