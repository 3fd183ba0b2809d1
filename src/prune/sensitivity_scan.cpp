#include "prune/sensitivity_scan.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/atomic_file_writer.h"
#include "core/error.h"
#include "core/mapped_file.h"
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

ScanResult read_scan_csv(const std::string& path) {
    const auto file = MappedFile::open(path);
    std::istringstream in(std::string(reinterpret_cast<const char*>(file->data()), file->size()));
    std::string line;
    if (!std::getline(in, line) || line != "layer,sparsity,channels_kept,accuracy")
        throw InputError(path, "not a tern prune --scan CSV (first line must be 'layer,sparsity,channels_kept,accuracy')");
    ScanResult r;
    bool dense = false;
    for (int64_t row = 2; std::getline(in, line); ++row) {
        if (line.empty()) continue;
        std::vector<std::string> f;
        std::stringstream ls(line);
        for (std::string cell; std::getline(ls, cell, ',');) f.push_back(cell);
        if (f.size() == 3 && line.back() == ',') f.push_back("");
        auto number = [&](const std::string& s, double lo, double hi) {
            size_t used = 0;
            double v = NAN;
            try {
                v = std::stod(s, &used);
            } catch (const std::exception&) {
            }
            if (used != s.size() || !(v >= lo && v <= hi))
                throw InputError(path, "row " + std::to_string(row) + ": '" + s + "' is not a number in [" +
                                           std::to_string(lo) + ", " + std::to_string(hi) + "]");
            return v;
        };
        if (f.size() != 4) throw InputError(path, "row " + std::to_string(row) + " does not have 4 fields");
        if (f[0] == "dense") {
            r.dense_accuracy = number(f[3], 0, 1);
            dense = true;
            continue;
        }
        r.points.push_back({f[0], number(f[1], 0, 1), static_cast<int64_t>(number(f[2], 1, 1e6)), number(f[3], 0, 1)});
    }
    if (!dense || r.points.empty()) throw InputError(path, "the scan has no dense row or no layer rows");
    return r;
}

std::vector<int64_t> sensitivity_widths(const nn::models::PrunedArch& current, const ScanResult& scan,
                                        double flops_fraction, int64_t in_channels, int64_t num_classes) {
    const std::vector<std::string> names = nn::models::width_names(current.base);
    std::vector<std::vector<const ScanPoint*>> per(names.size());
    for (const auto& p : scan.points) {
        const auto it = std::find(names.begin(), names.end(), p.layer);
        if (it == names.end())
            throw InputError("--sensitivity", "the scan's layer '" + p.layer + "' is not a prunable layer of " + current.base);
        per[size_t(it - names.begin())].push_back(&p);
    }
    for (size_t g = 0; g < names.size(); ++g)
        if (per[g].empty()) throw InputError("--sensitivity", "the scan has no rows for layer " + names[g]);
    auto widths_at = [&](double drop) {
        nn::models::PrunedArch a = current;
        for (size_t g = 0; g < names.size(); ++g) {
            double best = 0;
            for (const ScanPoint* p : per[g])
                if (p->accuracy >= scan.dense_accuracy - drop) best = std::max(best, p->sparsity);
            a.widths[g] = std::max<int64_t>(1, std::llround((1 - best) * double(current.widths[g])));
        }
        return a;
    };
    const double budget = flops_fraction * double(nn::models::pruned_macs(current, in_channels, num_classes));
    if (double(nn::models::pruned_macs(widths_at(1.0), in_channels, num_classes)) > budget)
        throw InputError("--flops", format("even the sparsest scanned widths keep more than %g of the MACs", flops_fraction));
    const double t = bisect_fitting(
        [&](double d) { return double(nn::models::pruned_macs(widths_at(d), in_channels, num_classes)) <= budget; }, 1);
    return widths_at(t).widths;
}

}  // namespace tern::prune
