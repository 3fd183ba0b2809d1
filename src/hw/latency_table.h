#pragma once
// The latency table of hardware-aware NAS (ProxylessNAS, Once-for-All): the
// latency of each operator configuration, measured once with tern's own
// prepared ops (ops/: Conv2d, Linear, Pool, Act) at batch 1 on one thread,
// median of N runs after warm-up, and cached in a JSON file keyed by CPU name
// and configuration. A model's latency is then predicted as the sum of its
// layers' entries plus a fitted per-model overhead (graph dispatch, copies).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tern::hw {

enum class LayerKind {
    conv,            // dense k x k convolution, "same" padding unless pad is set
    dwconv,          // depthwise k x k (in = out channels)
    linear,          // in -> out features on a prepared ops::Linear (weights packed once)
    gemm,            // in -> out features as the graph executor's Gemm runs today: ops::sgemm,
                     // which packs the weights on every call
    maxpool,         // k x k window, stride s
    avgpool,
    global_avgpool,  // (C, H, W) -> (C)
    add,             // elementwise sum of two (C, H, W) tensors (a residual)
    relu,            // elementwise activation on (C, H, W)
    mbconv,          // MobileNetV2 block: 1x1 expand (t = expansion) + ReLU6, k x k depthwise
                     // stride s + ReLU6, 1x1 project, residual add when s = 1 and in = out
};
const char* layer_kind_name(LayerKind k);
std::optional<LayerKind> parse_layer_kind(const std::string& s);

struct LayerConfig {
    LayerKind kind = LayerKind::conv;
    int64_t in_channels = 1;   // linear: in features
    int64_t out_channels = 1;  // linear: out features; pools, add, relu: = in_channels
    int64_t kernel = 1;
    int64_t stride = 1;
    int64_t size = 1;          // input height = width
    int64_t expansion = 1;     // mbconv only
    int64_t pad = -1;          // conv / dwconv / pools: -1 = kernel / 2 ("same" for odd kernels)

    int64_t resolved_pad() const;
    int64_t out_size() const;  // spatial size after the layer
};

// A layer's config with expansion 1 and "same" padding (set them after where they differ).
inline LayerConfig layer_config(LayerKind kind, int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t size) {
    LayerConfig c;
    c.kind = kind, c.in_channels = in, c.out_channels = out, c.kernel = kernel, c.stride = stride, c.size = size;
    return c;
}

// A canonical key: "conv/i16/o24/k3/s2/p1/h28/e1". Throws InputError("layer
// config", ...) for sizes outside what the table measures (channels 1..8192,
// kernel 1..11, stride 1..4, size 1..1024, expansion 1..8, a window larger than
// the padded input).
std::string config_key(const LayerConfig& c);
void validate_config(const LayerConfig& c);

struct MeasureOptions {
    int warmup = 3;
    int runs = 15;
};

// Median microseconds of one run of `c` at batch 1, on one thread (the default
// pool is set to 1 thread for the call and restored after).
double measure_layer_us(const LayerConfig& c, const MeasureOptions& o = {});

// The brand string of this CPU (cpuid), the table's outer key.
std::string this_cpu_name();

class LatencyTable {
public:
    explicit LatencyTable(std::string cpu = this_cpu_name()) : cpu_(std::move(cpu)) {}

    // Reads `path`, keeping every CPU's entries (save() writes them back) and
    // using this table's CPU. A missing file is an empty table; anything that
    // is not a latency table (bad JSON, wrong format tag or version, a
    // non-positive or non-number entry) is InputError(path, ...).
    static LatencyTable load(const std::string& path, const std::string& cpu = this_cpu_name());
    // Writes atomically (nothing half-written); IoError naming `path`.
    void save(const std::string& path) const;

    const std::string& cpu() const { return cpu_; }
    std::optional<double> find(const LayerConfig& c) const;
    void set(const LayerConfig& c, double us);
    // The cached entry, or a measurement (stored) when there is none.
    double lookup_or_measure(const LayerConfig& c, const MeasureOptions& o = {});
    size_t size() const;            // entries for this CPU
    int measured() const { return measured_; }  // measurements made by lookup_or_measure

private:
    std::string cpu_;
    std::map<std::string, std::map<std::string, double>> entries_;  // cpu -> key -> us
    int measured_ = 0;
};

// Sum of the table's entries for `layers` (measuring the missing ones) plus
// `overhead_us`.
double predict_latency_us(const std::vector<LayerConfig>& layers, LatencyTable& table, double overhead_us = 0);

// The per-model overhead that best fits (sum of entries, measured) pairs: the
// median of measured - sum (robust to one outlier run on a loaded machine).
double fit_overhead_us(const std::vector<std::pair<double, double>>& predicted_measured);

// The multiplicative calibration that best fits the pairs: the median of
// measured / sum. Isolated ops run faster than the same ops inside a model
// (caches, the executor's own passes), by a factor that is steady within a
// model family: fit it on the family's base model, apply it to its subnets.
double fit_scale(const std::vector<std::pair<double, double>>& predicted_measured);

// Where the default table lives: $TERN_CACHE (or ~/.cache/tern)/latency_table.json.
std::string default_latency_table_path();

// The API search strategies call: predicted microseconds of `layers` from the
// default table on this CPU (measuring and saving missing entries), no overhead.
double predict_latency(const std::vector<LayerConfig>& layers);

// Sets the default thread pool to one thread for the scope and restores the
// previous count after: the latency table is measured that way, and what is
// compared with it must be too.
class SingleThreadScope {
public:
    SingleThreadScope();
    ~SingleThreadScope();
    SingleThreadScope(const SingleThreadScope&) = delete;
    SingleThreadScope& operator=(const SingleThreadScope&) = delete;

private:
    int before_;
};

}  // namespace tern::hw
