#include "prune/sensitivity_scan.h"

#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/atomic_file_writer.h"
#include "core/line_chart.h"
#include "nn/models/pruned.h"
#include "nn/train/trainer.h"

namespace tern::prune {

ScanResult sensitivity_scan(const nn::train::ClassifierFile& f, ChannelCriterion c, const data::ImageDataset& validation,
                            const std::vector<double>& sparsities, const std::function<void(const std::string&)>& log) {
    ScanResult r;
    r.model = f.model_name;
    r.images = validation.size();
    r.dense_accuracy = nn::train::evaluate(*f.model, validation).accuracy;
    const std::vector<ChannelGroup> groups = channel_groups(f.model_name);
    const auto scores = channel_scores(*f.model, f.model_name, c, &validation, 4, 64);
    for (size_t g = 0; g < groups.size(); ++g) {
        for (double s : sparsities) {
            std::vector<int64_t> keep;
            for (const auto& gr : groups) keep.push_back(gr.channels);
            keep[g] = std::max<int64_t>(1, std::llround((1.0 - s) * double(groups[g].channels)));
            const NarrowedModel n = narrow_model(*f.model, f.model_name, top_channels(scores, keep), validation.channels(),
                                                 validation.num_classes);
            const double acc = nn::train::evaluate(*n.model, validation).accuracy;
            r.points.push_back({groups[g].name, s, keep[g], acc});
            if (log) log(groups[g].name + " sparsity " + std::to_string(s) + ": accuracy " + std::to_string(acc) + "\n");
        }
    }
    return r;
}

std::string scan_csv(const ScanResult& r) {
    std::ostringstream s;
    s << "layer,sparsity,channels_kept,accuracy\n";
    s << "dense,0,," << r.dense_accuracy << "\n";
    for (const auto& p : r.points) s << p.layer << ',' << p.sparsity << ',' << p.kept << ',' << p.accuracy << "\n";
    return s.str();
}

std::string scan_plot_path(const std::string& csv_path) {
    return std::filesystem::path(csv_path).replace_extension(".png").string();
}

void write_scan(const std::string& csv_path, const ScanResult& r) {
    ChartPanel panel{"VALIDATION ACCURACY VS CHANNEL SPARSITY", {}, "CHANNELS REMOVED (PERCENT)"};
    static const uint32_t colors[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                      0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
    for (const auto& p : r.points) {
        if (panel.series.empty() || panel.series.back().label != p.layer) {
            panel.series.push_back({p.layer, {0.0}, {r.dense_accuracy}, colors[panel.series.size() % 10]});
        }
        panel.series.back().x.push_back(100 * p.sparsity);
        panel.series.back().y.push_back(p.accuracy);
    }
    const std::string png = scan_plot_path(csv_path);
    write_png(png, render_line_charts({panel}, 640, 420));
    const std::string text = scan_csv(r);
    AtomicFileWriter w(csv_path);
    w.write(text.data(), text.size());
    w.commit();
}

}  // namespace tern::prune
