#pragma once
// The sensitivity scan of channel pruning (Han et al. 2015, Li et al. 2017):
// each prunable layer alone is narrowed to 10 %, 20 %, ... 90 % channel
// sparsity by a criterion (no fine-tuning), and the accuracy on validation
// images is measured. Flat curves mark layers that take heavy pruning.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nn/data/image_dataset.h"
#include "nn/train/model_file.h"
#include "prune/channel_prune.h"

namespace tern::prune {

struct ScanPoint {
    std::string layer;
    double sparsity = 0;  // fraction of the layer's channels removed
    int64_t kept = 0;     // channels left
    double accuracy = 0;
};

struct ScanResult {
    std::string model;
    double dense_accuracy = 0;
    int64_t images = 0;
    std::vector<ScanPoint> points;  // layer by layer, sparsity ascending
};

ScanResult sensitivity_scan(const nn::train::ClassifierFile& f, ChannelCriterion c, const data::ImageDataset& validation,
                            const std::vector<double>& sparsities,
                            const std::function<void(const std::string&)>& log = {});

// "layer,sparsity,channels_kept,accuracy" rows after a "dense" row.
std::string scan_csv(const ScanResult& r);
// Writes `csv_path` and the plot next to it (.png for .csv), each atomically.
void write_scan(const std::string& csv_path, const ScanResult& r);
std::string scan_plot_path(const std::string& csv_path);

// Reads what write_scan wrote; InputError(path, ...) for anything else.
ScanResult read_scan_csv(const std::string& path);

// Per-layer widths from a scan (Distiller's sensitivity pruning): each layer
// gets the largest scanned sparsity whose accuracy stays within `drop` of the
// dense accuracy, with `drop` the smallest that brings the MACs to at most
// `flops_fraction` of `current`'s. InputError when the scan's layers are not
// `current`'s or even the sparsest scanned widths exceed the budget.
std::vector<int64_t> sensitivity_widths(const nn::models::PrunedArch& current, const ScanResult& scan,
                                        double flops_fraction, int64_t in_channels = 1, int64_t num_classes = 10);

}  // namespace tern::prune
