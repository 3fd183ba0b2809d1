#pragma once
// Line charts rendered straight into a PlotCanvas (for training curves): side
// by side panels, each with axes, light grid, tick labels and a legend, in a
// built-in 5x7 pixel font (digits, upper-case letters, a few symbols; other
// characters draw as blanks).
#include <cstdint>
#include <string>
#include <vector>

#include "core/png.h"

namespace tern {

struct ChartSeries {
    std::string label;
    std::vector<double> x, y;  // non-finite points are skipped
    uint32_t rgb = 0x1f77b4;
    bool connect = true;  // false: points only (a scatter)
};

struct ChartPanel {
    std::string title;
    std::vector<ChartSeries> series;
    std::string x_label = "EPOCH";
    bool integer_x = true;  // x ticks at whole numbers (epochs); false: any nice step
};

// Panels left to right, each panel_w x panel_h pixels.
PlotCanvas render_line_charts(const std::vector<ChartPanel>& panels, int panel_w = 420, int panel_h = 300);

// Draws `text` with its top-left corner at (x, y), each font pixel `scale` wide.
void draw_text(PlotCanvas& img, int x, int y, const std::string& text, uint32_t rgb, int scale = 1);

}  // namespace tern
