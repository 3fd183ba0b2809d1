#include "vision/calibration_set.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/error.h"
#include "io/image.h"
#include "io/npy.h"

namespace tern::vision {
namespace {

namespace fs = std::filesystem;

constexpr const char* kGraphCalibForms =
    "want fashion-mnist:train:N (N training images), images:DIR[:N] (PNG/JPEG pictures) or npy:FILE.npy (an f32 batch)";

// "N" of a spec -> a count: UsageError naming --calib when it is not a number,
// InputError for 0 (an empty set, like a folder without pictures).
int64_t calib_set_count(const std::string& spec, const std::string& text) {
    if (text.empty() || text.size() > 12 || text.find_first_not_of("0123456789") != std::string::npos)
        throw UsageError("--calib", "'" + spec + "': '" + text + "' is not an image count");
    const int64_t n = std::stoll(text);
    if (n == 0) throw InputError("--calib", "'" + spec + "' is an empty calibration set (N must be at least 1)");
    return n;
}

}  // namespace

GraphCalibSource parse_graph_calib(const std::string& spec) {
    GraphCalibSource s;
    s.spec = spec;
    const size_t colon = spec.find(':');
    const std::string kind = spec.substr(0, colon);
    const std::string rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
    if (kind == "fashion-mnist") {
        const size_t c2 = rest.find(':');
        s.path = rest.substr(0, c2);
        if (colon == std::string::npos || s.path.empty()) throw UsageError("--calib", "'" + spec + "': " + kGraphCalibForms);
        if (s.path != "train")
            throw UsageError("--calib", "'" + spec + "': calibration images come from the train split (fashion-mnist:train:N)");
        if (c2 != std::string::npos) s.count = calib_set_count(spec, rest.substr(c2 + 1));
        return s;
    }
    if (kind == "images") {
        // The count is the part after the last colon when it is all digits, so a folder may hold colons.
        const size_t c2 = rest.rfind(':');
        const bool counted = c2 != std::string::npos && c2 + 1 < rest.size() &&
                             rest.find_first_not_of("0123456789", c2 + 1) == std::string::npos;
        s.kind = GraphCalibSource::Kind::images;
        s.path = counted ? rest.substr(0, c2) : rest;
        if (counted) s.count = calib_set_count(spec, rest.substr(c2 + 1));
        if (s.path.empty()) throw UsageError("--calib", "'" + spec + "': images: needs a folder (images:DIR[:N])");
        return s;
    }
    if (kind == "npy") {
        s.kind = GraphCalibSource::Kind::npy;
        s.path = rest;
        if (s.path.empty()) throw UsageError("--calib", "'" + spec + "': npy: needs a file (npy:FILE.npy)");
        return s;
    }
    throw UsageError("--calib", "'" + spec + "': " + kGraphCalibForms);
}

Tensor calibration_pictures(const std::string& dir, int64_t count, int64_t channels, int64_t height, int64_t width,
                            ImageNorm norm) {
    if (channels != 3)
        throw UsageError("--calib-shape", format("pictures calibrate 3-channel inputs; this one has %lld channels (use npy:FILE)",
                                                 static_cast<long long>(channels)));
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw InputError(dir, "not a folder (--calib images:DIR)");
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string p = e.path().string();
        if (e.is_regular_file(ec) && is_image_path(p)) files.push_back(p);
    }
    if (ec) throw InputError(dir, "cannot list the folder: " + ec.message());
    std::sort(files.begin(), files.end());
    if (files.empty()) throw InputError(dir, "holds no .png / .jpg / .jpeg pictures to calibrate on");
    if (count > static_cast<int64_t>(files.size()))
        throw InputError(dir, format("holds %zu pictures; %lld asked for", files.size(), static_cast<long long>(count)));
    const int64_t n = count > 0 ? count : static_cast<int64_t>(files.size());
    Tensor out = Tensor::empty({n, 3, height, width}, DType::f32);
    const int64_t per = 3 * height * width;
    for (int64_t i = 0; i < n; ++i) {
        const Tensor one = image_tensor(read_image(files[static_cast<size_t>(i)]), norm, width, height);
        std::memcpy(out.data<float>() + i * per, one.data<float>(), static_cast<size_t>(per) * sizeof(float));
    }
    return out;
}

Tensor calibration_npy(const std::string& path, int64_t input_rank) {
    const Tensor t = read_npy(path);
    if (t.dtype() != DType::f32 && t.dtype() != DType::f64 && t.dtype() != DType::f16)
        throw InputError(path, "calibration batch must hold floats (f4, f8 or f2), not " + std::string(dtype_name(t.dtype())));
    if (input_rank >= 0 && t.rank() != input_rank)
        throw InputError(path, format("calibration batch has rank %d (shape %s); the model input has rank %lld, batch first",
                                      t.rank(), shape_to_string(t.shape()).c_str(), static_cast<long long>(input_rank)));
    if (t.rank() < 1 || t.numel() == 0) throw InputError(path, "calibration batch is empty");
    if (t.dtype() == DType::f32) return t.contiguous();
    const std::vector<float> v = t.to_floats();
    return Tensor::from_floats(t.shape(), v);
}

}  // namespace tern::vision
