#include "nn/train/run_report.h"

#include <chrono>
#include <cstdio>

#include "core/line_chart.h"
#include "core/mapped_file.h"
#include "core/png.h"

namespace tern::nn::train {

std::string fmt_duration(double s) {
    char buf[32];
    if (s < 60) std::snprintf(buf, sizeof buf, "%.0fs", s);
    else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
    else std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600, static_cast<int>(s) / 60 % 60);
    return buf;
}

void write_text_file(const std::string& path, const std::string& text) {
    AtomicFileWriter w(path);
    w.write(text.data(), text.size());
    w.commit();
}

void write_plot(const std::string& path, const std::vector<EpochMetrics>& h) {
    ChartSeries tl{"TRAIN", {}, {}, 0x1f77b4}, vl{"VAL", {}, {}, 0xff7f0e};
    ChartSeries ta{"TRAIN", {}, {}, 0x1f77b4}, va{"VAL", {}, {}, 0xff7f0e};
    for (const auto& m : h) {
        const auto e = static_cast<double>(m.epoch);
        tl.x.push_back(e), tl.y.push_back(m.train_loss);
        vl.x.push_back(e), vl.y.push_back(m.val_loss);
        ta.x.push_back(e), ta.y.push_back(100 * m.train_accuracy);
        va.x.push_back(e), va.y.push_back(100 * m.val_accuracy);
    }
    write_png(path, render_line_charts({{"LOSS", {tl, vl}}, {"ACCURACY %", {ta, va}}}));
}

std::string pct(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f%%", 100 * v);
    return buf;
}

namespace {
double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

RunEta::RunEta(double first_epoch, int64_t epochs) : start_(now_seconds()), first_epoch_(first_epoch), epochs_(epochs) {}

std::string RunEta::left(int64_t epoch, int64_t batch, int64_t batches) const {
    const double elapsed = now_seconds() - start_;
    const double epochs_run = static_cast<double>(epoch - 1) - first_epoch_ + static_cast<double>(batch) / static_cast<double>(batches);
    const double remaining = static_cast<double>(epochs_) - first_epoch_ - epochs_run;
    return fmt_duration(elapsed / epochs_run * remaining);
}

}  // namespace tern::nn::train
