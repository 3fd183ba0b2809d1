#include "io/image.h"

#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "core/read_file.h"

namespace tern {

namespace {

constexpr int64_t kMaxPixels = int64_t{1} << 28;

void check_size(const std::string& path, int64_t w, int64_t h) {
    if (w < 1 || h < 1 || w > kMaxPixels / h) {
        throw InputError(path, format("image is %lldx%lld; tern reads 1 to 2^28 pixels", (long long)w, (long long)h));
    }
}

RgbImage read_png(const std::string& path, const std::string& bytes) {
    png_image img;
    std::memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, bytes.data(), bytes.size())) {
        throw InputError(path, std::string("not a readable PNG: ") + img.message);
    }
    std::unique_ptr<png_image, void (*)(png_image*)> guard(&img, png_image_free);
    check_size(path, img.width, img.height);
    img.format = PNG_FORMAT_RGB;  // libpng converts gray, palette and 16-bit and composites alpha
    RgbImage out;
    out.width = img.width;
    out.height = img.height;
    out.rgb.resize(PNG_IMAGE_SIZE(img));
    if (!png_image_finish_read(&img, nullptr, out.rgb.data(), 0, nullptr)) {
        throw InputError(path, std::string("damaged PNG: ") + img.message);
    }
    return out;
}

// libjpeg reports errors through a callback that must not return: it jumps back to read_jpeg.
struct JpegError {
    jpeg_error_mgr mgr;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr cinfo) {
    auto* err = reinterpret_cast<JpegError*>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, err->message);
    std::longjmp(err->jump, 1);
}

// libjpeg only warns about corrupt or truncated data and fills the gap with gray: that is a wrong picture, so fail.
void jpeg_warning_is_error(j_common_ptr cinfo, int level) {
    if (level < 0) jpeg_fail(cinfo);
}

RgbImage read_jpeg(const std::string& path, const std::string& bytes) {
    jpeg_decompress_struct cinfo;
    JpegError err;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_fail;
    err.mgr.emit_message = jpeg_warning_is_error;
    // Everything setjmp must survive lives outside the jumped-over region; no C++ object with a destructor inside.
    RgbImage* out = new RgbImage;
    std::unique_ptr<RgbImage> owned(out);
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        throw InputError(path, std::string("damaged JPEG: ") + err.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&cinfo, TRUE);
    cinfo.out_color_space = JCS_RGB;
    if (cinfo.image_width < 1 || cinfo.image_height < 1 ||
        static_cast<int64_t>(cinfo.image_width) > kMaxPixels / static_cast<int64_t>(cinfo.image_height)) {
        std::snprintf(err.message, sizeof err.message, "image is %ux%u; tern reads 1 to 2^28 pixels", cinfo.image_width,
                      cinfo.image_height);
        std::longjmp(err.jump, 1);
    }
    jpeg_start_decompress(&cinfo);
    out->width = cinfo.output_width;
    out->height = cinfo.output_height;
    out->rgb.resize(static_cast<size_t>(out->width * out->height * 3));
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out->rgb.data() + static_cast<size_t>(cinfo.output_scanline) * out->width * 3;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return std::move(*owned);
}

}  // namespace

bool is_image_path(const std::string& path) {
    std::string lower = path;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    for (const char* ext : {".png", ".jpg", ".jpeg"}) {
        const size_t n = std::strlen(ext);
        if (lower.size() >= n && lower.compare(lower.size() - n, n, ext) == 0) return true;
    }
    return false;
}

RgbImage read_image(const std::string& path) {
    const std::string bytes = read_whole_file(path);
    static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (bytes.size() >= 8 && std::memcmp(bytes.data(), kPng, 8) == 0) return read_png(path, bytes);
    if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xff && static_cast<unsigned char>(bytes[1]) == 0xd8 &&
        static_cast<unsigned char>(bytes[2]) == 0xff) {
        return read_jpeg(path, bytes);
    }
    throw InputError(path, "is neither a PNG nor a JPEG file (by its first bytes)");
}

}  // namespace tern
