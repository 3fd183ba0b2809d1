#include "core/png.h"

#include <zlib.h>

#include "core/error.h"
#include "core/mapped_file.h"

namespace tern {
namespace {

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

// A chunk is length, type, data, then the CRC-32 of type and data.
void put_chunk(std::vector<uint8_t>& out, const char type[4], const std::vector<uint8_t>& data) {
    put_u32(out, static_cast<uint32_t>(data.size()));
    const size_t type_at = out.size();
    out.insert(out.end(), type, type + 4);
    out.insert(out.end(), data.begin(), data.end());
    const uLong crc = crc32(0L, out.data() + type_at, static_cast<uInt>(4 + data.size()));
    put_u32(out, static_cast<uint32_t>(crc));
}

}  // namespace

PlotCanvas::PlotCanvas(int w, int h, uint32_t fill) : width(w), height(h), pixels(static_cast<size_t>(w) * h * 3) {
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) set(x, y, fill);
}

void PlotCanvas::set(int x, int y, uint32_t rgb) {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    uint8_t* p = &pixels[(static_cast<size_t>(y) * width + x) * 3];
    p[0] = static_cast<uint8_t>(rgb >> 16);
    p[1] = static_cast<uint8_t>(rgb >> 8);
    p[2] = static_cast<uint8_t>(rgb);
}

std::vector<uint8_t> encode_png(const PlotCanvas& img) {
    // Raw scanlines, each prefixed by its filter byte (0 = none).
    const size_t row = static_cast<size_t>(img.width) * 3;
    std::vector<uint8_t> raw;
    raw.reserve((row + 1) * img.height);
    for (int y = 0; y < img.height; ++y) {
        raw.push_back(0);
        raw.insert(raw.end(), img.pixels.begin() + y * row, img.pixels.begin() + (y + 1) * row);
    }
    uLongf zbytes = compressBound(static_cast<uLong>(raw.size()));
    std::vector<uint8_t> z(zbytes);
    if (compress2(z.data(), &zbytes, raw.data(), static_cast<uLong>(raw.size()), Z_BEST_COMPRESSION) != Z_OK)
        throw Error("png", "zlib compression failed");
    z.resize(zbytes);

    std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    std::vector<uint8_t> ihdr;
    put_u32(ihdr, static_cast<uint32_t>(img.width));
    put_u32(ihdr, static_cast<uint32_t>(img.height));
    ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // bit depth 8, colour type RGB, deflate, filter 0, no interlace
    put_chunk(out, "IHDR", ihdr);
    put_chunk(out, "IDAT", z);
    put_chunk(out, "IEND", {});
    return out;
}

void write_png(const std::string& path, const PlotCanvas& img) {
    const std::vector<uint8_t> bytes = encode_png(img);
    AtomicFileWriter w(path);
    w.write(bytes.data(), bytes.size());
    w.commit();
}

}  // namespace tern
