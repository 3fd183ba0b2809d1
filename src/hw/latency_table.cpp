#include "hw/latency_table.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "core/atomic_file_writer.h"
#include "core/cache_dir.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/read_file.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "ops/activation.h"
#include "ops/conv2d.h"
#include "ops/linear.h"
#include "ops/pool.h"
#include "ops/sgemm.h"

namespace tern::hw {
namespace {

constexpr const char* kFormat = "tern-latency-table";
constexpr int kVersion = 1;

constexpr std::pair<LayerKind, const char*> kKindNames[] = {
    {LayerKind::conv, "conv"},       {LayerKind::dwconv, "dwconv"},
    {LayerKind::linear, "linear"},   {LayerKind::gemm, "gemm"},
    {LayerKind::maxpool, "maxpool"},
    {LayerKind::avgpool, "avgpool"}, {LayerKind::global_avgpool, "global_avgpool"},
    {LayerKind::add, "add"},         {LayerKind::relu, "relu"},
    {LayerKind::mbconv, "mbconv"},
};

bool spatial(LayerKind k) { return k != LayerKind::linear && k != LayerKind::gemm; }
bool windowed(LayerKind k) {
    return k == LayerKind::conv || k == LayerKind::dwconv || k == LayerKind::maxpool || k == LayerKind::avgpool ||
           k == LayerKind::mbconv;
}

void check_range(const char* what, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi)
        throw InputError("layer config", format("%s %lld outside %lld..%lld", what, static_cast<long long>(v),
                                                static_cast<long long>(lo), static_cast<long long>(hi)));
}

std::vector<float> random_floats(int64_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> d(-0.5f, 0.5f);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = d(rng);
    return v;
}


std::unique_ptr<ops::Conv2d> make_conv(int64_t C, int64_t H, int64_t O, int64_t k, int64_t s, int64_t pad,
                                       bool depthwise) {
    ops::Conv2dParams p;
    p.stride_h = p.stride_w = s;
    p.pad_h = p.pad_w = pad;
    p.groups = depthwise ? C : 1;
    const int64_t cg = depthwise ? 1 : C;
    const std::vector<float> w = random_floats(O * cg * k * k, 1);
    const std::vector<float> b = random_floats(O, 2);
    return std::make_unique<ops::Conv2d>(C, H, H, O, k, k, p, w.data(), b.data());
}

// One timed unit: a closure over its prepared ops and buffers.
std::function<void()> prepare_run(const LayerConfig& c) {
    const int64_t C = c.in_channels, O = c.out_channels, H = c.size, k = c.kernel, s = c.stride;
    switch (c.kind) {
        case LayerKind::conv:
        case LayerKind::dwconv: {
            auto conv = make_conv(C, H, O, k, s, c.resolved_pad(), c.kind == LayerKind::dwconv);
            auto x = std::make_shared<std::vector<float>>(random_floats(C * H * H, 3));
            auto y = std::make_shared<std::vector<float>>(O * conv->out_h() * conv->out_w());
            auto scratch = std::make_shared<std::vector<float>>(std::max<int64_t>(1, conv->scratch_floats(1)));
            std::shared_ptr<ops::Conv2d> op(std::move(conv));
            return [op, x, y, scratch] { op->run(x->data(), y->data(), 1, scratch->data()); };
        }
        case LayerKind::linear: {
            const std::vector<float> w = random_floats(O * C, 1);
            auto op = std::make_shared<ops::Linear>(Tensor::from_floats({O, C}, w), random_floats(O, 2), "latency table");
            auto x = std::make_shared<std::vector<float>>(random_floats(C, 3));
            auto y = std::make_shared<std::vector<float>>(O);
            return [op, x, y] { op->forward(x->data(), y->data(), 1); };
        }
        case LayerKind::gemm: {
            // y = x W^T + b with W (out, in), as ONNX Gemm(transB = 1) from tern's exporter.
            auto w = std::make_shared<std::vector<float>>(random_floats(O * C, 1));
            auto b = std::make_shared<std::vector<float>>(random_floats(O, 2));
            auto x = std::make_shared<std::vector<float>>(random_floats(C, 3));
            auto y = std::make_shared<std::vector<float>>(O);
            return [w, b, x, y, C, O] {
                ops::sgemm(false, true, 1, O, C, 1.f, x->data(), C, w->data(), C, 0.f, y->data(), O);
                for (int64_t j = 0; j < O; ++j) (*y)[static_cast<size_t>(j)] += (*b)[static_cast<size_t>(j)];
            };
        }
        case LayerKind::maxpool:
        case LayerKind::avgpool:
        case LayerKind::global_avgpool: {
            const ops::PoolKind pk = c.kind == LayerKind::maxpool   ? ops::PoolKind::max
                                     : c.kind == LayerKind::avgpool ? ops::PoolKind::avg
                                                                    : ops::PoolKind::global_avg;
            const int64_t pad = c.kind == LayerKind::global_avgpool ? 0 : c.resolved_pad();
            auto op = std::make_shared<ops::Pool>(pk, H, H, ops::Pool2dParams{k, k, s, s, pad, pad});
            auto x = std::make_shared<std::vector<float>>(random_floats(C * H * H, 3));
            auto y = std::make_shared<std::vector<float>>(C * op->out_h() * op->out_w());
            return [op, x, y, C] { op->run(x->data(), y->data(), C); };
        }
        case LayerKind::add: {
            // What the graph executor's Add does for two same-shape tensors: one pass.
            auto a = std::make_shared<std::vector<float>>(random_floats(C * H * H, 3));
            auto b = std::make_shared<std::vector<float>>(random_floats(C * H * H, 4));
            auto y = std::make_shared<std::vector<float>>(C * H * H);
            return [a, b, y] {
                const size_t n = y->size();
                for (size_t i = 0; i < n; ++i) (*y)[i] = (*a)[i] + (*b)[i];
            };
        }
        case LayerKind::relu: {
            auto op = std::make_shared<ops::Act>(ops::ActKind::relu);
            auto x = std::make_shared<std::vector<float>>(random_floats(C * H * H, 3));
            return [op, x] { op->run(x->data(), x->data(), static_cast<int64_t>(x->size())); };
        }
        case LayerKind::mbconv: {
            const int64_t hidden = C * c.expansion, pad = c.resolved_pad();
            std::shared_ptr<ops::Conv2d> expand;
            if (c.expansion > 1) expand = make_conv(C, H, hidden, 1, 1, 0, false);
            std::shared_ptr<ops::Conv2d> dw = make_conv(hidden, H, hidden, k, s, pad, true);
            const int64_t OH = dw->out_h();
            std::shared_ptr<ops::Conv2d> project = make_conv(hidden, OH, O, 1, 1, 0, false);
            const bool residual = s == 1 && C == O;
            auto x = std::make_shared<std::vector<float>>(random_floats(C * H * H, 3));
            auto h1 = std::make_shared<std::vector<float>>(hidden * H * H);
            auto h2 = std::make_shared<std::vector<float>>(hidden * OH * OH);
            auto y = std::make_shared<std::vector<float>>(O * OH * OH);
            int64_t scratch_n = std::max(dw->scratch_floats(1), project->scratch_floats(1));
            if (expand) scratch_n = std::max(scratch_n, expand->scratch_floats(1));
            auto scratch = std::make_shared<std::vector<float>>(std::max<int64_t>(1, scratch_n));
            auto relu6 = std::make_shared<ops::Act>(ops::ActKind::relu6);
            return [=] {
                const float* in = x->data();
                if (expand) {
                    expand->run(in, h1->data(), 1, scratch->data());
                    relu6->run(h1->data(), h1->data(), static_cast<int64_t>(h1->size()));
                    in = h1->data();
                }
                dw->run(in, h2->data(), 1, scratch->data());
                relu6->run(h2->data(), h2->data(), static_cast<int64_t>(h2->size()));
                project->run(h2->data(), y->data(), 1, scratch->data());
                if (residual)
                    for (size_t i = 0; i < y->size(); ++i) (*y)[i] += (*x)[i];
            };
        }
    }
    throw InputError("layer config", "unknown layer kind");
}

}  // namespace

const char* layer_kind_name(LayerKind k) {
    for (const auto& [kind, name] : kKindNames)
        if (kind == k) return name;
    return "?";
}

std::optional<LayerKind> parse_layer_kind(const std::string& s) {
    for (const auto& [kind, name] : kKindNames)
        if (s == name) return kind;
    return std::nullopt;
}

int64_t LayerConfig::resolved_pad() const {
    if (kind == LayerKind::global_avgpool || !windowed(kind)) return 0;
    return pad >= 0 ? pad : kernel / 2;
}

int64_t LayerConfig::out_size() const {
    if (!spatial(kind) || kind == LayerKind::global_avgpool) return 1;
    if (!windowed(kind)) return size;
    return (size + 2 * resolved_pad() - kernel) / stride + 1;
}

void validate_config(const LayerConfig& c) {
    check_range("in channels", c.in_channels, 1, 8192);
    check_range("out channels", c.out_channels, 1, 8192);
    check_range("kernel", c.kernel, 1, 11);
    check_range("stride", c.stride, 1, 4);
    check_range("size", c.size, 1, 1024);
    check_range("expansion", c.expansion, 1, 8);
    if (!spatial(c.kind) && c.size != 1) throw InputError("layer config", "linear layers have size 1");
    const bool same_channels = c.kind == LayerKind::dwconv || c.kind == LayerKind::maxpool ||
                               c.kind == LayerKind::avgpool || c.kind == LayerKind::global_avgpool ||
                               c.kind == LayerKind::add || c.kind == LayerKind::relu;
    if (same_channels && c.in_channels != c.out_channels)
        throw InputError("layer config", std::string(layer_kind_name(c.kind)) + " keeps its channels (in = out)");
    if (windowed(c.kind)) {
        const int64_t pad = c.resolved_pad();
        if (pad < 0 || pad > c.kernel / 2)
            throw InputError("layer config", format("padding %lld outside 0..kernel/2", static_cast<long long>(pad)));
        if (c.size + 2 * pad < c.kernel) throw InputError("layer config", "kernel larger than the padded input");
    }
    // The pixels a measurement touches: keep one entry under ~1 s.
    if (spatial(c.kind) && c.size * c.size * std::max(c.in_channels, c.out_channels) * c.expansion > (int64_t{1} << 26))
        throw InputError("layer config", "activation too large for the table");
}

std::string config_key(const LayerConfig& c) {
    validate_config(c);
    return format("%s/i%lld/o%lld/k%lld/s%lld/p%lld/h%lld/e%lld", layer_kind_name(c.kind),
                  static_cast<long long>(c.in_channels), static_cast<long long>(c.out_channels),
                  static_cast<long long>(c.kernel), static_cast<long long>(c.stride),
                  static_cast<long long>(c.resolved_pad()), static_cast<long long>(c.size),
                  static_cast<long long>(c.expansion));
}

double measure_layer_us(const LayerConfig& c, const MeasureOptions& o) {
    validate_config(c);
    if (o.warmup < 0 || o.runs < 1) throw UsageError("latency table", "needs runs >= 1 and warmup >= 0");
    SingleThreadScope one_thread;
    const std::function<void()> run = prepare_run(c);
    for (int i = 0; i < o.warmup; ++i) run();
    std::vector<double> us;
    for (int i = 0; i < o.runs; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::nth_element(us.begin(), us.begin() + static_cast<long>(us.size() / 2), us.end());
    return us[us.size() / 2];
}

std::string this_cpu_name() {
    const std::string& b = cpu_features().brand;
    return b.empty() ? std::string(cpu_features().vendor) : b;
}

LatencyTable LatencyTable::load(const std::string& path, const std::string& cpu) {
    LatencyTable t(cpu);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return t;  // no table yet: every entry gets measured
    const std::string text = read_whole_file(path);
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw InputError(path, "not a latency table: invalid JSON (" + std::string(e.what()) + ")");
    }
    if (!j.is_object() || !j.contains("format") || j["format"] != kFormat)
        throw InputError(path, std::string("not a latency table: \"format\" is not \"") + kFormat + "\"");
    if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int64_t>() != kVersion)
        throw InputError(path, format("latency table version is not %d", kVersion));
    if (!j.contains("cpus") || !j["cpus"].is_object())
        throw InputError(path, "latency table has no \"cpus\" object");
    for (const auto& [cpu_name, entries] : j["cpus"].items()) {
        if (!entries.is_object()) throw InputError(path, "cpu '" + cpu_name + "': entries are not an object");
        auto& dst = t.entries_[cpu_name];
        for (const auto& [key, v] : entries.items()) {
            if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() <= 0)
                throw InputError(path, "entry '" + key + "' is not a positive number of microseconds");
            dst[key] = v.get<double>();
        }
    }
    return t;
}

void LatencyTable::save(const std::string& path) const {
    nlohmann::ordered_json j;
    j["format"] = kFormat;
    j["version"] = kVersion;
    j["unit"] = "microseconds, median, batch 1, 1 thread";
    j["cpus"] = nlohmann::ordered_json::object();
    for (const auto& [cpu, entries] : entries_) {
        nlohmann::ordered_json e = nlohmann::ordered_json::object();
        for (const auto& [key, us] : entries) e[key] = us;
        j["cpus"][cpu] = e;
    }
    const std::string text = j.dump(1) + "\n";
    AtomicFileWriter w(path);
    w.write(text.data(), text.size());
    w.commit();
}

std::optional<double> LatencyTable::find(const LayerConfig& c) const {
    auto it = entries_.find(cpu_);
    if (it == entries_.end()) return std::nullopt;
    auto e = it->second.find(config_key(c));
    if (e == it->second.end()) return std::nullopt;
    return e->second;
}

void LatencyTable::set(const LayerConfig& c, double us) {
    if (!(us > 0) || !std::isfinite(us)) throw InputError("latency table", "latency must be a positive number");
    entries_[cpu_][config_key(c)] = us;
}

double LatencyTable::lookup_or_measure(const LayerConfig& c, const MeasureOptions& o) {
    if (auto us = find(c)) return *us;
    const double us = std::max(measure_layer_us(c, o), 1e-3);  // a positive entry even below the clock's resolution
    set(c, us);
    ++measured_;
    return us;
}

size_t LatencyTable::size() const {
    auto it = entries_.find(cpu_);
    return it == entries_.end() ? 0 : it->second.size();
}

double predict_latency_us(const std::vector<LayerConfig>& layers, LatencyTable& table, double overhead_us) {
    double sum = overhead_us;
    for (const LayerConfig& c : layers) sum += table.lookup_or_measure(c);
    return sum;
}

double fit_overhead_us(const std::vector<std::pair<double, double>>& predicted_measured) {
    if (predicted_measured.empty()) return 0;
    std::vector<double> d;
    for (const auto& [p, m] : predicted_measured) d.push_back(m - p);
    std::sort(d.begin(), d.end());
    const size_t n = d.size();
    return n % 2 ? d[n / 2] : 0.5 * (d[n / 2 - 1] + d[n / 2]);
}

double fit_scale(const std::vector<std::pair<double, double>>& predicted_measured) {
    std::vector<double> r;
    for (const auto& [p, m] : predicted_measured)
        if (p > 0) r.push_back(m / p);
    if (r.empty()) return 1;
    std::sort(r.begin(), r.end());
    const size_t n = r.size();
    return n % 2 ? r[n / 2] : 0.5 * (r[n / 2 - 1] + r[n / 2]);
}

std::string default_latency_table_path() { return tern_cache_dir() + "/latency_table.json"; }

double predict_latency(const std::vector<LayerConfig>& layers) {
    const std::string path = default_latency_table_path();
    LatencyTable table = LatencyTable::load(path);
    const double us = predict_latency_us(layers, table);
    if (table.measured() > 0) {
        std::error_code ec;
        std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
        table.save(path);
    }
    return us;
}

SingleThreadScope::SingleThreadScope() : before_(default_thread_count()) {
    if (before_ != 1) set_default_threads(1);
}

SingleThreadScope::~SingleThreadScope() {
    if (before_ != 1) set_default_threads(before_);
}

}  // namespace tern::hw
