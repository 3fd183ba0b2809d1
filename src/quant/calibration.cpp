#include "quant/calibration.h"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>

#include "core/error.h"
#include "core/thread_pool.h"
#include "io/gguf_writer.h"
#include "io/safetensors.h"
#include "quant/calibration_data.h"

namespace tern::quant {
namespace {

Tensor vector_tensor(const std::vector<float>& v) { return Tensor::from_floats({static_cast<int64_t>(v.size())}, v); }

template <class T>
Tensor typed_tensor(const Shape& shape, DType dtype, const T* values) {
    Tensor t = Tensor::empty(shape, dtype);
    std::memcpy(t.raw_data(), values, static_cast<size_t>(shape_numel(shape)) * sizeof(T));
    return t;
}

bool skipped_for_fused_qkv(io::RoleOf role, bool fused_qkv) {
    return fused_qkv && (role.role == io::TensorRole::attn_k || role.role == io::TensorRole::attn_v);
}

void check_output_path(const CalibrateOptions& o) {
    if (o.output.empty()) throw UsageError("-o", "give the statistics file to write (.gguf or .safetensors)");
    if (!o.output.ends_with(".gguf") && !o.output.ends_with(".safetensors"))
        throw UsageError("-o", "'" + o.output + "' must end in .gguf or .safetensors");
    std::error_code ec;
    if (std::filesystem::exists(o.output, ec) && std::filesystem::equivalent(o.output, o.model, ec))
        throw UsageError("-o", "would overwrite the model " + o.model);
}

void write_stats(const CalibrateOptions& o, const CalibrateResult& r, const std::string& source,
                 const std::vector<NamedTensor>& tensors) {
    const std::map<std::string, std::string> meta = {
        {"tern.calibration.model", o.model},
        {"tern.calibration.data", source},
        {"tern.calibration.tokens", std::to_string(r.n_tokens)},
        {"tern.calibration.ctx", std::to_string(r.ctx)},
        {"tern.calibration.windows", std::to_string(r.n_windows)},
        {"tern.calibration.stats", ops::stat_set_names(o.stats)},
    };
    if (o.output.ends_with(".safetensors")) {
        io::write_safetensors(o.output, tensors, meta);
        return;
    }
    io::GgufMetadata gm;
    gm.emplace_back("general.type", io::GgufValue::of_string("calibration"));
    for (const auto& [k, v] : meta) gm.emplace_back(k, io::GgufValue::of_string(v));
    io::write_gguf(o.output, gm, tensors);
}

}  // namespace

void observe_windows(llm::Session& session, std::span<const std::vector<int32_t>> windows,
                     ops::LinearObserver& observer, const std::function<void(int64_t)>& on_window) {
    std::vector<float> logits;
    session.set_linear_observer(&observer);
    try {
        for (size_t w = 0; w < windows.size(); ++w) {
            session.reset();
            session.eval(windows[w], logits, /*all_logits=*/true);
            if (on_window) on_window(static_cast<int64_t>(w));
        }
    } catch (...) {
        session.set_linear_observer(nullptr);
        throw;
    }
    session.set_linear_observer(nullptr);
}

std::string calibration_weight_name(io::RoleOf role, bool fused_qkv) {
    if (role.layer < 0) return io::tensor_role_name(role.role);
    const bool qkv = fused_qkv && (role.role == io::TensorRole::attn_q || role.role == io::TensorRole::attn_k ||
                                   role.role == io::TensorRole::attn_v);
    return "blk." + std::to_string(role.layer) + "." + io::tensor_role_name(qkv ? io::TensorRole::attn_qkv : role.role);
}

std::vector<NamedTensor> calibration_tensors(const ops::CalibrationCollector& collector, bool fused_qkv) {
    std::vector<NamedTensor> out;
    for (const auto& e : collector.entries()) {
        if (skipped_for_fused_qkv(e.role, fused_qkv)) continue;
        const ops::LinearInputStats& s = e.stats;
        const std::string w = calibration_weight_name(e.role, fused_qkv);
        const int64_t K = s.in_features();
        const int64_t count = s.rows();
        out.push_back({w + ".in_count", typed_tensor<int64_t>({1}, DType::i64, &count)});
        const ops::StatSet& k = s.kinds();
        if (k.absmax) out.push_back({w + ".in_absmax", vector_tensor(s.absmax())});
        if (k.meanabs) out.push_back({w + ".in_meanabs", vector_tensor(s.mean_abs())});
        if (k.meansq) out.push_back({w + ".in_meansq", vector_tensor(s.mean_sq())});
        if (k.minmax) {
            out.push_back({w + ".in_min", vector_tensor(s.min())});
            out.push_back({w + ".in_max", vector_tensor(s.max())});
        }
        if (k.hist) {
            std::vector<int64_t> h(s.histogram().begin(), s.histogram().end());
            out.push_back({w + ".in_hist", typed_tensor<int64_t>({K, ops::kHistBins}, DType::i64, h.data())});
        }
        if (k.hessian) {
            std::vector<double> h = s.hessian_sum();
            if (count > 0)
                for (double& v : h) v /= double(count);
            out.push_back({w + ".hessian", typed_tensor<double>({K, K}, DType::f64, h.data())});
        }
    }
    return out;
}

CalibrationRun::CalibrationRun(const CalibrateOptions& o) {
    const CalibSpec spec = parse_calib_spec(o.calib);
    if (!spec.is_text())
        throw UsageError("--calib", "'" + o.calib + "' is an image set; a language model calibrates on text:train, "
                                    "text:validation, text:test or text:FILE");
    if (o.n_tokens < 1) throw UsageError("--calib-tokens", format("%lld; must be >= 1", (long long)o.n_tokens));
    if (o.ctx != 0 && o.ctx < 2) throw UsageError("--calib-ctx", format("%lld; must be >= 2", (long long)o.ctx));
    model_ = llm::load_model(o.model, o.load);
    const int64_t train_ctx = model_->config.n_ctx_train > 0 ? model_->config.n_ctx_train : llm::kDefaultMaxCtx;
    ctx_ = o.ctx > 0 ? o.ctx : std::min<int64_t>(512, train_ctx);
    if (ctx_ > train_ctx)
        throw UsageError("--calib-ctx", format("%lld exceeds the model's context; must be in 2..%lld", (long long)ctx_,
                                               (long long)train_ctx));
    const auto tokenizer = llm::load_text_tokenizer(o.model);
    if (!tokenizer) throw InputError(o.model, "has no tokenizer (no tokenizer.ggml.* metadata, no tokenizer.json beside it)");
    // BOS starts every window when the tokenizer adds one (llama.cpp's imatrix does the same).
    const std::vector<int32_t> bos_probe = tokenizer->encode("", /*add_bos=*/true);
    const int32_t bos = bos_probe.empty() ? -1 : bos_probe.front();
    TokenWindows tw = calibration_token_windows(spec, *tokenizer, bos, o.n_tokens, ctx_);
    windows_ = std::move(tw.windows);
    n_tokens_ = tw.n_tokens;
    source_ = spec.kind == CalibSpec::Kind::text_file ? spec.path : spec.spec;
    llm::SessionOptions so;
    so.n_ctx = ctx_;
    so.kv_type = ops::KvType::f32;
    session_ = std::make_unique<llm::Session>(*model_, so);
}

CalibrationRun::~CalibrationRun() = default;

namespace {

// Passes on the calls of the Linears a predicate accepts.
class FilteredObserver final : public ops::LinearObserver {
public:
    FilteredObserver(ops::LinearObserver& inner, const std::function<bool(io::RoleOf)>& keep)
        : inner_(inner), keep_(keep) {}
    void on_linear(const ops::LinearCall& call) override {
        if (keep_(call.role)) inner_.on_linear(call);
    }

private:
    ops::LinearObserver& inner_;
    const std::function<bool(io::RoleOf)>& keep_;
};

}  // namespace

LinearStatistics CalibrationRun::observe(ops::StatSet stats, const std::function<bool(io::RoleOf)>& keep,
                                         const std::function<void(int64_t)>& on_window) {
    LinearStatistics r;
    r.ctx = ctx_;
    r.n_windows = n_windows();
    r.n_tokens = n_tokens_;
    r.source = source_;
    r.fused_qkv = model_->config.arch == llm::Arch::gpt2;
    r.collector = std::make_unique<ops::CalibrationCollector>(stats, &default_pool());
    if (keep) {
        FilteredObserver filtered(*r.collector, keep);
        observe_windows(*session_, windows_, filtered, on_window);
    } else {
        observe_windows(*session_, windows_, *r.collector, on_window);
    }
    return r;
}

LinearStatistics collect_linear_statistics(const CalibrateOptions& o,
                                           const std::function<void(int64_t, int64_t)>& on_window) {
    CalibrationRun run(o);
    const int64_t n = run.n_windows();
    return run.observe(o.stats, {}, [&](int64_t w) {
        if (on_window) on_window(w, n);
    });
}

CalibrateResult calibrate_model(const CalibrateOptions& o, const std::function<void(int64_t, int64_t)>& on_window) {
    check_output_path(o);
    const auto t0 = std::chrono::steady_clock::now();
    const LinearStatistics stats = collect_linear_statistics(o, on_window);
    const ops::CalibrationCollector& collector = *stats.collector;
    CalibrateResult r;
    r.ctx = stats.ctx;
    r.n_windows = stats.n_windows;
    r.n_tokens = stats.n_tokens;
    const bool fused_qkv = stats.fused_qkv;
    const std::vector<NamedTensor> tensors = calibration_tensors(collector, fused_qkv);
    r.n_tensors = static_cast<int64_t>(tensors.size());
    write_stats(o, r, stats.source, tensors);

    for (const auto& e : collector.entries()) {
        if (skipped_for_fused_qkv(e.role, fused_qkv)) continue;
        CalibrationRow row;
        row.name = calibration_weight_name(e.role, fused_qkv);
        row.role = e.role;
        row.tokens = e.stats.rows();
        row.in_features = e.stats.in_features();
        const auto& am = e.stats.absmax();
        for (size_t c = 0; c < am.size(); ++c)
            if (am[c] > row.max_absmax) {
                row.max_absmax = am[c];
                row.max_absmax_channel = static_cast<int64_t>(c);
            }
        if (o.stats.hessian || o.stats.meansq) row.hessian_trace = e.stats.mean_hessian_trace();
        r.rows.push_back(row);
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

}  // namespace tern::quant
