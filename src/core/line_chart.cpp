#include "core/line_chart.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace tern {
namespace {

// 5x7 glyphs, one string of 5 columns per row, '#' = ink.
struct Glyph {
    char c;
    const char* rows[7];
};
constexpr Glyph kFont[] = {
    {'0', {" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "}},
    {'1', {"  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "}},
    {'2', {" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"}},
    {'3', {"#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "}},
    {'4', {"   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "}},
    {'5', {"#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "}},
    {'6', {"  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "}},
    {'7', {"#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "}},
    {'8', {" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "}},
    {'9', {" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "}},
    {'.', {"     ", "     ", "     ", "     ", "     ", " ##  ", " ##  "}},
    {'-', {"     ", "     ", "     ", "#####", "     ", "     ", "     "}},
    {'%', {"##   ", "##  #", "   # ", "  #  ", " #   ", "#  ##", "   ##"}},
    {'(', {"   # ", "  #  ", " #   ", " #   ", " #   ", "  #  ", "   # "}},
    {')', {" #   ", "  #  ", "   # ", "   # ", "   # ", "  #  ", " #   "}},
    {'/', {"     ", "    #", "   # ", "  #  ", " #   ", "#    ", "     "}},
    {'A', {" ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"}},
    {'B', {"#### ", "#   #", "#   #", "#### ", "#   #", "#   #", "#### "}},
    {'C', {" ### ", "#   #", "#    ", "#    ", "#    ", "#   #", " ### "}},
    {'D', {"#### ", "#   #", "#   #", "#   #", "#   #", "#   #", "#### "}},
    {'E', {"#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"}},
    {'F', {"#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#    "}},
    {'G', {" ### ", "#   #", "#    ", "# ###", "#   #", "#   #", " ####"}},
    {'H', {"#   #", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"}},
    {'I', {" ### ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "}},
    {'J', {"  ###", "   # ", "   # ", "   # ", "   # ", "#  # ", " ##  "}},
    {'K', {"#   #", "#  # ", "# #  ", "##   ", "# #  ", "#  # ", "#   #"}},
    {'L', {"#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####"}},
    {'M', {"#   #", "## ##", "# # #", "# # #", "#   #", "#   #", "#   #"}},
    {'N', {"#   #", "#   #", "##  #", "# # #", "#  ##", "#   #", "#   #"}},
    {'O', {" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "}},
    {'P', {"#### ", "#   #", "#   #", "#### ", "#    ", "#    ", "#    "}},
    {'Q', {" ### ", "#   #", "#   #", "#   #", "# # #", "#  # ", " ## #"}},
    {'R', {"#### ", "#   #", "#   #", "#### ", "# #  ", "#  # ", "#   #"}},
    {'S', {" ####", "#    ", "#    ", " ### ", "    #", "    #", "#### "}},
    {'T', {"#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "}},
    {'U', {"#   #", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "}},
    {'V', {"#   #", "#   #", "#   #", "#   #", "#   #", " # # ", "  #  "}},
    {'W', {"#   #", "#   #", "#   #", "# # #", "# # #", "# # #", " # # "}},
    {'X', {"#   #", "#   #", " # # ", "  #  ", " # # ", "#   #", "#   #"}},
    {'Y', {"#   #", "#   #", " # # ", "  #  ", "  #  ", "  #  ", "  #  "}},
    {'Z', {"#####", "    #", "   # ", "  #  ", " #   ", "#    ", "#####"}},
};

const Glyph* find_glyph(char c) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const auto& g : kFont)
        if (g.c == c) return &g;
    return nullptr;
}

void fill_rect(PlotCanvas& img, int x0, int y0, int x1, int y1, uint32_t rgb) {
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x) img.set(x, y, rgb);
}

// Bresenham, `thick` pixels wide (a square brush).
void draw_line(PlotCanvas& img, int x0, int y0, int x1, int y1, uint32_t rgb, int thick) {
    const int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    const int dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    const int r0 = -(thick - 1) / 2, r1 = thick / 2;
    while (true) {
        fill_rect(img, x0 + r0, y0 + r0, x0 + r1 + 1, y0 + r1 + 1, rgb);
        if (x0 == x1 && y0 == y1) break;
        const int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

// A "nice" tick step (1, 2 or 5 x 10^k) giving about `target` intervals.
double nice_step(double range, int target) {
    const double raw = range / target;
    const double p = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (raw <= m * p) return m * p;
    return 10 * p;
}

std::string tick_label(double v, double step) {
    const int decimals = step >= 1 ? 0 : std::min(4, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

void draw_panel(PlotCanvas& img, int ox, const ChartPanel& panel, int pw, int ph) {
    constexpr uint32_t kAxis = 0x333333, kGrid = 0xe4e4e4, kText = 0x222222;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (const auto& s : panel.series)
        for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
            if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
            xmin = std::min(xmin, s.x[i]);
            xmax = std::max(xmax, s.x[i]);
            ymin = std::min(ymin, s.y[i]);
            ymax = std::max(ymax, s.y[i]);
        }
    if (!std::isfinite(xmin)) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
    if (xmax - xmin < 1e-12) {  // one x: epochs start there, a scatter centres it
        if (panel.integer_x) xmax = xmin + 1;
        else xmin -= 0.5 * std::max(1e-3, std::abs(xmin)), xmax = 2 * xmax - xmin;
    }
    if (ymax - ymin < 1e-12) ymin -= 0.5, ymax += 0.5;
    const double pad = 0.05 * (ymax - ymin);
    ymin -= pad;
    ymax += pad;
    if (!panel.integer_x) {  // a scatter: keep the extreme points off the axes
        const double xpad = 0.05 * (xmax - xmin);
        xmin -= xpad;
        xmax += xpad;
    }

    const int left = ox + 56, right = ox + pw - 14, top = 32, bottom = ph - 34;
    draw_text(img, ox + (pw - static_cast<int>(panel.title.size()) * 12) / 2, 8, panel.title, kText, 2);
    auto px = [&](double x) { return left + static_cast<int>(std::lround((x - xmin) / (xmax - xmin) * (right - left))); };
    auto py = [&](double y) { return bottom - static_cast<int>(std::lround((y - ymin) / (ymax - ymin) * (bottom - top))); };

    const double ys = nice_step(ymax - ymin, 5);
    for (double y = std::ceil(ymin / ys) * ys; y <= ymax; y += ys) {
        const int yy = py(y);
        draw_line(img, left, yy, right, yy, kGrid, 1);
        const std::string l = tick_label(y, ys);
        draw_text(img, left - 6 - static_cast<int>(l.size()) * 6, yy - 3, l, kText);
    }
    const double xs = panel.integer_x ? std::max(1.0, nice_step(xmax - xmin, 6)) : nice_step(xmax - xmin, 6);
    for (double x = std::ceil(xmin / xs) * xs; x <= xmax + 1e-9; x += xs) {
        const int xx = px(x);
        draw_line(img, xx, top, xx, bottom, kGrid, 1);
        const std::string l = tick_label(x, xs);
        draw_text(img, xx - static_cast<int>(l.size()) * 3, bottom + 6, l, kText);
    }
    draw_line(img, left, top, left, bottom, kAxis, 1);
    draw_line(img, left, bottom, right, bottom, kAxis, 1);
    draw_text(img, (left + right) / 2 - static_cast<int>(panel.x_label.size()) * 3, ph - 14, panel.x_label, kText);

    int legend_y = 3;  // in the band above the plot, right of the title, so curves never hide it
    for (const auto& s : panel.series) {
        int prev_x = 0, prev_y = 0;
        bool have_prev = false;
        for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
            if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
                have_prev = false;
                continue;
            }
            const int x = px(s.x[i]), y = py(s.y[i]);
            if (have_prev && s.connect) draw_line(img, prev_x, prev_y, x, y, s.rgb, 2);
            fill_rect(img, x - 2, y - 2, x + 3, y + 3, s.rgb);  // marks each epoch's point
            prev_x = x, prev_y = y, have_prev = true;
        }
        const int lx = right - static_cast<int>(s.label.size()) * 6 - 20;
        fill_rect(img, lx, legend_y + 2, lx + 14, legend_y + 5, s.rgb);
        draw_text(img, lx + 18, legend_y, s.label, kText);
        legend_y += 12;
    }
}

}  // namespace

void draw_text(PlotCanvas& img, int x, int y, const std::string& text, uint32_t rgb, int scale) {
    for (char c : text) {
        if (const Glyph* g = find_glyph(c))
            for (int r = 0; r < 7; ++r)
                for (int k = 0; k < 5; ++k)
                    if (g->rows[r][k] == '#') fill_rect(img, x + k * scale, y + r * scale, x + (k + 1) * scale, y + (r + 1) * scale, rgb);
        x += 6 * scale;
    }
}

PlotCanvas render_line_charts(const std::vector<ChartPanel>& panels, int panel_w, int panel_h) {
    PlotCanvas img(panel_w * static_cast<int>(std::max<size_t>(1, panels.size())), panel_h, 0xffffff);
    for (size_t i = 0; i < panels.size(); ++i) draw_panel(img, static_cast<int>(i) * panel_w, panels[i], panel_w, panel_h);
    return img;
}

}  // namespace tern
