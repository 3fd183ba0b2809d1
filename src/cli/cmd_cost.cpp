// tern cost MODEL [--json] [--dtype f32|int8] [--latency]: per-layer MACs,
// parameters, bytes moved, arithmetic intensity, roofline-bound latency and
// energy (compute vs memory), with the latency table's prediction and the
// measured end-to-end latency on request.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "core/json_out.h"
#include "core/printable.h"
#include "core/table.h"
#include "hw/energy.h"
#include "hw/latency_table.h"
#include "hw/roofline.h"
#include "interop/model_cost.h"

namespace tern::cli {
namespace {

struct CostOptions {
    std::string model;
    bool json = false;
    std::string dtype = "f32";
    bool latency = false;
    double peak_gops = 0;       // 0: measured
    double bandwidth_gbps = 0;  // 0: measured
    std::string table_path;     // empty: the default cache file
    int runs = 15;
};

// Latencies measured and predicted for the model, per node and in total.
struct CostLatencyReport {
    std::map<std::string, double> node_us;  // table entry per node
    std::vector<std::string> uncovered;
    double predicted_us = 0, measured_us = 0;
    int table_entries_measured = 0;
    std::string table_path, cpu;
};

CostLatencyReport cost_latency_report(const interop::CostModel& m, const CostOptions& o) {
    CostLatencyReport r;
    r.table_path = o.table_path.empty() ? hw::default_latency_table_path() : o.table_path;
    hw::LatencyTable table = hw::LatencyTable::load(r.table_path);
    r.cpu = table.cpu();
    hw::MeasureOptions mo;
    mo.runs = o.runs;
    for (const auto& nc : interop::latency_configs(m, &r.uncovered)) {
        const double us = table.lookup_or_measure(nc.config, mo);
        r.node_us[nc.node] = us;
        r.predicted_us += us;
    }
    r.table_entries_measured = table.measured();
    if (table.measured() > 0) {
        std::error_code ec;
        std::filesystem::create_directories(std::filesystem::path(r.table_path).parent_path(), ec);
        table.save(r.table_path);
    }
    r.measured_us = interop::measure_model_latency_us(m, 3, o.runs);
    return r;
}

Json cost_layer_json(const hw::LayerRoofline& l) {
    Json j;
    j["name"] = l.cost.name;
    j["kind"] = l.cost.kind;
    j["macs"] = l.cost.macs;
    j["ops"] = l.cost.ops;
    j["params"] = l.cost.params;
    j["weight_bytes"] = l.weight_bytes;
    j["activation_bytes"] = l.activation_bytes;
    j["intensity_ops_per_byte"] = l.intensity;
    j["compute_us"] = l.compute_s * 1e6;
    j["memory_us"] = l.memory_s * 1e6;
    j["bound_us"] = l.bound_s * 1e6;
    j["bound"] = l.memory_bound ? "memory" : "compute";
    j["energy_compute_uj"] = l.compute_pj * 1e-6;
    j["energy_memory_uj"] = l.memory_pj * 1e-6;
    return j;
}

void print_cost_json(const interop::CostModel& m, const hw::ModelRoofline& r, bool measured_machine,
                       const CostLatencyReport* lat) {
    Json j;
    j["model"] = m.path;
    j["format"] = m.format;
    j["dtype"] = hw::cost_dtype_name(r.dtype);
    j["machine"] = {{"peak_gops", r.machine.peak_gops},
                    {"bandwidth_gbps", r.machine.bandwidth_gbps},
                    {"measured", measured_machine}};
    j["energy_model"] = {{"source", "Horowitz ISSCC 2014, 45 nm; DRAM 640 pJ per 32-bit word (Han et al. 2016)"},
                         {"mac_pj", hw::EnergyModel{}.mac_pj(r.dtype)},
                         {"dram_pj_per_byte", hw::EnergyModel{}.dram_pj_per_byte()},
                         {"sram_bytes", hw::EnergyModel{}.sram_bytes}};
    Json layers = Json::array();
    for (const auto& l : r.layers) {
        Json lj = cost_layer_json(l);
        if (lat) {
            auto it = lat->node_us.find(l.cost.name);
            lj["table_us"] = it == lat->node_us.end() ? Json(nullptr) : Json(it->second);
        }
        layers.push_back(lj);
    }
    j["layers"] = layers;
    j["total"] = cost_layer_json(r.total);
    if (lat) {
        j["latency"] = {{"predicted_us", lat->predicted_us},
                        {"measured_us", lat->measured_us},
                        {"predicted_over_measured", lat->predicted_us / lat->measured_us},
                        {"uncovered_nodes", lat->uncovered},
                        {"table", lat->table_path},
                        {"cpu", lat->cpu},
                        {"table_entries_measured", lat->table_entries_measured}};
    }
    print_json(j);
}

std::string cost_us_text(double s) { return fmt_fixed(s * 1e6, 2); }

void print_cost_text(const interop::CostModel& m, const hw::ModelRoofline& r, bool measured_machine,
                       const CostLatencyReport* lat) {
    std::printf("model      %s (%s), dtype %s, batch 1\n", printable(m.path).c_str(), m.format.c_str(),
                hw::cost_dtype_name(r.dtype));
    std::printf("machine    %.1f GOPS peak, %.1f GB/s (%s)\n", r.machine.peak_gops, r.machine.bandwidth_gbps,
                measured_machine ? "measured" : "given");
    std::vector<std::string> header = {"layer", "kind", "MACs", "params", "bytes", "ops/byte", "bound us", "by",
                                       "E compute uJ", "E memory uJ"};
    if (lat) header.push_back("table us");
    TextTable t(header);
    auto row = [&](const hw::LayerRoofline& l, const std::string& table_us) {
        std::vector<std::string> cells = {printable(l.cost.name), printable(l.cost.kind), fmt_count(double(l.cost.macs)),
                                          fmt_count(double(l.cost.params)),
                                          fmt_bytes(double(l.weight_bytes + l.activation_bytes)),
                                          fmt_fixed(l.intensity, 2), cost_us_text(l.bound_s), l.memory_bound ? "mem" : "cmp",
                                          fmt_fixed(l.compute_pj * 1e-6, 3), fmt_fixed(l.memory_pj * 1e-6, 3)};
        if (lat) cells.push_back(table_us);
        t.add_row(cells);
    };
    for (const auto& l : r.layers) {
        std::string tu = "-";
        if (lat) {
            auto it = lat->node_us.find(l.cost.name);
            if (it != lat->node_us.end()) tu = fmt_fixed(it->second, 2);
        }
        row(l, tu);
    }
    row(r.total, lat ? fmt_fixed(lat->predicted_us, 2) : "");
    t.print();
    const double e = r.total.compute_pj + r.total.memory_pj;
    std::printf("energy     %.3f uJ per image: compute %.1f %%, memory %.1f %% (Horowitz 45 nm figures)\n", e * 1e-6,
                e > 0 ? 100 * r.total.compute_pj / e : 0, e > 0 ? 100 * r.total.memory_pj / e : 0);
    if (lat) {
        std::printf("latency    predicted %.1f us (sum of the table's entries), measured %.1f us (1 thread), "
                    "predicted/measured %.3f\n",
                    lat->predicted_us, lat->measured_us, lat->predicted_us / lat->measured_us);
        if (!lat->uncovered.empty()) {
            std::string names;
            for (const auto& n : lat->uncovered) names += (names.empty() ? "" : ", ") + n;
            std::printf("           not in the table: %s\n", printable(names).c_str());
        }
        std::printf("table      %s (%d entries measured now)\n", printable(lat->table_path).c_str(),
                    lat->table_entries_measured);
    }
}

}  // namespace

void add_cost_command(CLI::App& app) {
    auto o = std::make_shared<CostOptions>();
    auto* cmd = app.add_subcommand("cost", "Per-layer MACs, bytes, roofline latency and energy of a model");
    cmd->add_option("model", o->model, "classifier (.safetensors) or graph model (.onnx, .tflite)")->required();
    cmd->add_flag("--json", o->json, "machine-readable output");
    cmd->add_option("--dtype", o->dtype, "arithmetic and storage type of weights and activations")
        ->check(CLI::IsMember({"f32", "int8"}));
    cmd->add_flag("--latency", o->latency,
                  "add the latency table's prediction and the measured latency (batch 1, 1 thread)");
    cmd->add_option("--peak-gops", o->peak_gops, "compute peak for the roofline instead of measuring it")
        ->check(CLI::Range(1e-3, 1e9));
    cmd->add_option("--bandwidth-gbps", o->bandwidth_gbps, "memory bandwidth instead of measuring it")
        ->check(CLI::Range(1e-3, 1e9));
    cmd->add_option("--latency-table", o->table_path, "latency table JSON file (default: the cache's latency_table.json)");
    cmd->add_option("--runs", o->runs, "timed runs per measurement (median)")->check(CLI::Range(1, 1000));
    cmd->callback([o] {
        hw::CostDType dtype = hw::CostDType::f32;
        hw::parse_cost_dtype(o->dtype, dtype);
        const interop::CostModel m = interop::load_cost_model(o->model);
        const std::vector<hw::LayerCost> costs = interop::layer_costs(m);
        hw::Machine machine;
        const bool measured = !(o->peak_gops > 0 && o->bandwidth_gbps > 0);
        if (measured) machine = hw::measured_machine(dtype);
        if (o->peak_gops > 0) machine.peak_gops = o->peak_gops;
        if (o->bandwidth_gbps > 0) machine.bandwidth_gbps = o->bandwidth_gbps;
        const hw::ModelRoofline r = hw::model_roofline(costs, dtype, machine);
        std::unique_ptr<CostLatencyReport> lat;
        if (o->latency) lat = std::make_unique<CostLatencyReport>(cost_latency_report(m, *o));
        if (o->json) print_cost_json(m, r, measured, lat.get());
        else print_cost_text(m, r, measured, lat.get());
    });
}

}  // namespace tern::cli
