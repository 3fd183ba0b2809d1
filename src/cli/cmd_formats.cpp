// tern formats MODEL | --synthetic gaussian|laplace|outliers
// For every number format: bits/weight, bytes, relative RMS error and SQNR,
// per tensor, so a user sees which format suits a model.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/option_ranges.h"
#include "core/error.h"
#include "core/json_out.h"
#include "core/progress.h"
#include "core/table.h"
#include "formats/format.h"
#include "formats/format_error.h"
#include "io/model_info.h"

namespace tern::cli {
namespace {

struct FormatsOptions {
    std::string model;
    std::string synthetic;
    std::vector<std::string> only;
    int64_t n = 1 << 18;
    int64_t max_elements = 1 << 20;
    uint64_t seed = 1;
    bool json = false;
};

struct Sample {
    std::string name;
    std::vector<float> values;
    int64_t numel;  // of the whole tensor (bytes are reported for it)
};

std::vector<float> tensor_to_floats(const NamedTensor& nt, int64_t max_elements) {
    const Tensor& t = nt.tensor;
    const DTypeInfo& info = dtype_info(t.dtype());
    int64_t n = t.numel();
    if (n > max_elements) n = max_elements / 256 * 256;  // a prefix of whole blocks
    n = n / info.block_size * info.block_size;
    std::vector<float> out(static_cast<size_t>(n));
    // Storage formats (floats, fp8, GGUF blocks) decode through their format
    // descriptor; plain integer tensors through Tensor::to_floats.
    if (const FormatDescriptor* fmt = format_for_dtype(t.dtype())) {
        fmt->dequantize(t.data<uint8_t>(), out.data(), n);
        return out;
    }
    auto all = t.to_floats();
    out.assign(all.begin(), all.begin() + n);
    return out;
}

void run_formats(const FormatsOptions& o) {
    std::vector<Sample> samples;
    if (!o.synthetic.empty()) {
        if (o.n < 1 || o.n > (int64_t{1} << 28)) throw UsageError("formats", "--n must be in 1 .. 2^28");
        samples.push_back({"synthetic:" + o.synthetic, synthetic_data(o.synthetic, o.n, o.seed), o.n});
    } else if (!o.model.empty()) {
        for (const auto& nt : load_tensors(o.model)) {
            if (nt.tensor.numel() < 256) continue;  // norms and biases: not worth quantizing
            samples.push_back({nt.name, tensor_to_floats(nt, o.max_elements), nt.tensor.numel()});
        }
        if (samples.empty()) throw InputError(o.model, "no tensor with at least 256 elements");
    } else {
        throw UsageError("formats", "give a MODEL file or --synthetic gaussian|laplace|outliers");
    }
    std::vector<const FormatDescriptor*> formats;
    if (o.only.empty()) {
        for (const auto& f : all_formats()) formats.push_back(&f);
    } else {
        for (const auto& name : o.only) formats.push_back(&format_by_name(name));
    }

    Json rows = Json::array();
    TextTable table({"tensor", "format", "bits/w", "bytes", "rel_rms", "sqnr_db"});
    Progress progress("formats", static_cast<int64_t>(samples.size() * formats.size()));
    int64_t done = 0;
    for (const auto& s : samples) {
        for (const auto* f : formats) {
            const FormatError e = measure_format_error(*f, s.values);
            const uint64_t bytes = f->bytes_for((s.numel + f->block_size - 1) / f->block_size * f->block_size);
            Json r;
            r["tensor"] = s.name;
            r["format"] = std::string(f->name);
            r["bits_per_weight"] = f->bits_per_weight();
            r["bytes"] = bytes;
            r["rel_rms"] = e.rel_rms;
            r["sqnr_db"] = std::isfinite(e.sqnr_db) ? Json(e.sqnr_db) : Json(nullptr);
            r["finite"] = e.finite;
            rows.push_back(r);
            table.add_row({s.name, std::string(f->name), fmt_fixed(f->bits_per_weight(), 3), fmt_bytes(double(bytes)),
                           e.finite ? fmt_fixed(e.rel_rms, 5) : "non-finite", fmt_fixed(e.sqnr_db, 2)});
            progress.update(++done);
        }
    }
    progress.finish();
    if (o.json) print_json(rows);
    else table.print();
}

}  // namespace

void add_formats_command(CLI::App& app) {
    auto o = std::make_shared<FormatsOptions>();
    auto* cmd = app.add_subcommand("formats", "Error and size of every number format on a model's tensors or synthetic data");
    cmd->add_option("model", o->model, "model file (.gguf, .safetensors)");
    cmd->add_option("--synthetic", o->synthetic, "gaussian | laplace | outliers")
        ->check(CLI::IsMember({"gaussian", "laplace", "outliers"}));
    cmd->add_option("--format", o->only, "only these formats (repeatable)");
    cmd->add_option("--n", o->n, "synthetic sample size")->check(int_range(1, int64_t{1} << 28));
    // Samples are whole 256-element blocks, so fewer than 256 would sample nothing.
    cmd->add_option("--max-elements", o->max_elements, "elements sampled per tensor (a prefix)")
        ->check(int_range(256, int64_t{1} << 40));
    cmd->add_option("--seed", o->seed, "random seed for synthetic data")->check(seed_range());
    cmd->add_flag("--json", o->json, "machine-readable output");
    cmd->callback([o] { run_formats(*o); });
}

}  // namespace tern::cli
