// Reads the text in a PNG or JPEG with the PaddleOCR PP-OCRv4 models on tern's
// graph runtime, using the library API only (vision/ocr.h):
//   example_ocr_english IMAGE [MODELS_DIR]
// MODELS_DIR holds ch_PP-OCRv4_det_infer.onnx, ch_PP-OCRv4_rec_infer.onnx and
// ppocr_keys_v1.txt (default: the npm ocr-models package scripts/setup.sh unpacks).
#include <cstdio>
#include <string>

#include "core/cache_dir.h"
#include "core/error.h"
#include "io/image.h"
#include "vision/ocr.h"

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: %s IMAGE [MODELS_DIR]\n", argv[0]);
        return 2;
    }
    const std::string models = argc == 3 ? argv[2] : tern::tern_cache_dir() + "/npm/ocr-models/package/assets";
    try {
        const tern::vision::OcrReader reader(models + "/ch_PP-OCRv4_det_infer.onnx", models + "/ch_PP-OCRv4_rec_infer.onnx",
                                             models + "/ppocr_keys_v1.txt");
        const tern::RgbImage image = tern::read_image(argv[1]);
        for (const auto& line : reader.read(image)) {
            std::printf("%lld,%lld,%lld,%lld\t%.3f\t%s\n", static_cast<long long>(line.box.x0), static_cast<long long>(line.box.y0),
                        static_cast<long long>(line.box.x1), static_cast<long long>(line.box.y1), line.confidence,
                        line.text.c_str());
        }
    } catch (const tern::Error& e) {
        std::fprintf(stderr, "example_ocr_english: %s\n", e.what());
        return 1;
    }
    return 0;
}
