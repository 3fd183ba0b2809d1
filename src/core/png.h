#pragma once
// A minimal PNG encoder: 8-bit RGB, no interlace, one zlib stream (IDAT)
// with filter type 0 on every row. Enough for plots; no decoder.
#include <cstdint>
#include <string>
#include <vector>

namespace tern {

struct PlotCanvas {
    int width = 0, height = 0;
    std::vector<uint8_t> pixels;  // row-major, 3 bytes per pixel

    PlotCanvas() = default;
    PlotCanvas(int w, int h, uint32_t fill = 0xffffff);
    void set(int x, int y, uint32_t rgb);  // 0xRRGGBB; ignores points outside
};

std::vector<uint8_t> encode_png(const PlotCanvas& img);
// Writes atomically (temporary file, then rename). Throws IoError.
void write_png(const std::string& path, const PlotCanvas& img);

}  // namespace tern
