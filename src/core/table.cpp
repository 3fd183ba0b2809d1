#include "core/table.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "core/printable.h"

namespace tern {

// Cells often hold names read from a file: escape what a terminal would act on.
TextTable::TextTable(std::vector<std::string> header) : header_(std::move(header)) {
    for (auto& cell : header_) cell = printable(cell);
}

void TextTable::add_row(std::vector<std::string> row) {
    row.resize(header_.size());
    for (auto& cell : row) cell = printable(cell);
    rows_.push_back(std::move(row));
}

static bool looks_numeric(const std::string& s) {
    if (s.empty()) return false;
    // Numbers with an optional unit suffix ("1.5 MiB", "-3.2", "inf").
    if (s == "inf" || s == "-inf" || s == "nan") return true;
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    bool digit = false;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) digit = true, ++i;
    if (!digit) return false;
    if (i == s.size()) return true;
    if (s[i] != ' ' && s[i] != 'x' && s[i] != '%') return false;
    return s.find(' ', i + 1) == std::string::npos;
}

std::string TextTable::render() const {
    std::vector<size_t> width(header_.size());
    for (size_t c = 0; c < header_.size(); ++c) width[c] = display_width(header_[c]);
    for (const auto& r : rows_)
        for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], display_width(r[c]));
    auto line = [&](const std::vector<std::string>& r, bool header) {
        std::string out;
        for (size_t c = 0; c < r.size(); ++c) {
            const size_t pad = width[c] - display_width(r[c]);
            if (c) out += "  ";
            if (!header && looks_numeric(r[c])) out += std::string(pad, ' ') + r[c];
            else out += r[c] + (c + 1 < r.size() ? std::string(pad, ' ') : "");
        }
        return out + "\n";
    };
    std::string out = line(header_, true);
    size_t total = 0;
    for (size_t c = 0; c < width.size(); ++c) total += width[c] + (c ? 2 : 0);
    out += std::string(total, '-') + "\n";
    for (const auto& r : rows_) out += line(r, false);
    return out;
}

void TextTable::print() const {
    const std::string s = render();
    std::fwrite(s.data(), 1, s.size(), stdout);
}

std::string fmt_fixed(double v, int decimals) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string fmt_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        ++u;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", bytes, units[u]);
    return buf;
}

std::string fmt_count(double n) {
    char buf[64];
    if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.2f B", n / 1e9);
    else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
    else if (n >= 1e3) std::snprintf(buf, sizeof buf, "%.1f K", n / 1e3);
    else std::snprintf(buf, sizeof buf, "%.0f", n);
    return buf;
}

}  // namespace tern
