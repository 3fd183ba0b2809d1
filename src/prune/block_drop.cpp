#include "prune/block_drop.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include "core/error.h"
#include "core/output_path.h"
#include "io/gguf_reader.h"
#include "llm/forward.h"
#include "llm/hf_to_gguf.h"
#include "llm/model_check.h"
#include "llm/perplexity.h"

namespace tern::prune {
namespace {

constexpr const char* kBlockDropWhere = "block-drop";

// Mean next-token NLL over every position of every window, from an empty cache.
double calibration_nll(const llm::Model& m, const quant::CalibrationRun& run, int64_t& scored) {
    llm::SessionOptions so;
    so.n_ctx = run.ctx();
    llm::Session s(m, so);
    std::vector<float> logits;
    double sum = 0;
    scored = 0;
    for (const std::vector<int32_t>& w : run.windows()) {
        s.reset();
        s.eval(w, logits, /*all_logits=*/true);
        const int64_t v = s.n_vocab();
        for (size_t t = 0; t + 1 < w.size(); ++t) {
            const float* row = logits.data() + static_cast<int64_t>(t) * v;
            sum += llm::log_sum_exp(row, v) - row[w[t + 1]];
            ++scored;
        }
    }
    if (scored == 0) throw InputError(kBlockDropWhere, "the calibration windows hold no token to predict; give more --calib-tokens");
    return sum / static_cast<double>(scored);
}

std::string block_count_key(const io::GgufMetadata& md, const std::string& where) {
    const io::GgufValue* arch = io::find_metadata(md, "general.architecture");
    if (!arch || arch->type != io::GgufType::string) throw InputError(where, "no general.architecture metadata");
    return arch->s + ".block_count";
}

}  // namespace

void remove_blocks(io::GgufMetadata& md, std::vector<NamedTensor>& tensors, const std::vector<int64_t>& drop,
                   int64_t n_blocks, const std::string& where) {
    const std::string key = block_count_key(md, where);
    const std::string arch_prefix = key.substr(0, key.size() - std::string("block_count").size());
    for (const auto& [k, v] : md)
        if (k.rfind(arch_prefix, 0) == 0 && v.type == io::GgufType::array && static_cast<int64_t>(v.count) == n_blocks)
            throw InputError(where, "metadata '" + k + "' holds one value per block; dropping blocks from such a model "
                                    "is not supported");
    std::map<int64_t, int64_t> renumber;
    for (int64_t b = 0, next = 0; b < n_blocks; ++b)
        if (std::find(drop.begin(), drop.end(), b) == drop.end()) renumber[b] = next++;
    std::vector<NamedTensor> kept;
    for (NamedTensor& t : tensors) {
        if (t.name.rfind("blk.", 0) != 0) {
            kept.push_back(std::move(t));
            continue;
        }
        const size_t dot = t.name.find('.', 4);
        const std::string num = t.name.substr(4, dot == std::string::npos ? std::string::npos : dot - 4);
        if (num.empty() || num.size() > 6 || num.find_first_not_of("0123456789") != std::string::npos || dot == std::string::npos)
            throw InputError(where, "tensor '" + t.name + "' does not name a block as blk.N.*");
        const int64_t b = std::stoll(num);
        if (b >= n_blocks) throw InputError(where, "tensor '" + t.name + "' names a block past block_count " + std::to_string(n_blocks));
        auto it = renumber.find(b);
        if (it == renumber.end()) continue;  // dropped
        t.name = "blk." + std::to_string(it->second) + t.name.substr(dot);
        kept.push_back(std::move(t));
    }
    tensors = std::move(kept);
    const int64_t after = n_blocks - static_cast<int64_t>(drop.size());
    for (auto& [k, v] : md)
        if (k == key) v = v.type == io::GgufType::i32 || v.type == io::GgufType::i64 ? io::GgufValue::scalar_i(v.type, after)
                                                                                   : io::GgufValue::scalar_u(v.type, static_cast<uint64_t>(after));
}

BlockDropResult drop_blocks(const BlockDropOptions& o, const std::function<void(const std::string&)>& log) {
    if (std::filesystem::path(o.output).extension() != ".gguf")
        throw UsageError("-o", "a block-dropped language model is written as .gguf, not '" + o.output + "'");
    if (o.blocks < 1) throw UsageError("--blocks", "give how many blocks to drop, K >= 1");
    if (o.calibration.calib.empty()) throw UsageError("--calib", "block-drop scores blocks on calibration text, e.g. --calib text:train");
    check_output_path(o.output, {o.input});
    llm::check_model_file(o.input);
    io::GgufModel g = io::read_gguf(o.input);
    const std::string key = block_count_key(g.info.metadata, o.input);
    const io::GgufValue* bc = io::find_metadata(g.info.metadata, key);
    const int64_t n_blocks = bc ? (bc->type == io::GgufType::i32 || bc->type == io::GgufType::i64 ? bc->i : static_cast<int64_t>(bc->u)) : 0;
    if (o.blocks >= n_blocks)
        throw InputError(o.input, "has " + std::to_string(n_blocks) + " blocks; --blocks " + std::to_string(o.blocks) +
                                      " would leave none (drop at most " + std::to_string(n_blocks - 1) + ")");
    quant::CalibrateOptions co = o.calibration;
    co.model = o.input;
    quant::CalibrationRun run(co);
    llm::Model& m = run.model();
    BlockDropResult res;
    res.blocks_before = n_blocks;
    res.calib_ppl_dense = std::exp(calibration_nll(m, run, res.calib_tokens));
    if (log) log(format("%s: %lld blocks, calibration ppl %.4f over %lld tokens\n", o.input.c_str(), (long long)n_blocks,
                        res.calib_ppl_dense, (long long)res.calib_tokens));
    std::vector<int64_t> alive(static_cast<size_t>(n_blocks));  // original index of each position of m.layers
    for (int64_t b = 0; b < n_blocks; ++b) alive[b] = b;
    for (int64_t round = 0; round < o.blocks; ++round) {
        BlockDropRound r;
        r.ppl_without.assign(static_cast<size_t>(n_blocks), std::nan(""));
        double best = std::numeric_limits<double>::infinity();
        size_t best_pos = 0;
        for (size_t pos = 0; pos < alive.size(); ++pos) {
            // Take the block out, score, put it back.
            llm::LayerWeights held = std::move(m.layers[pos]);
            m.layers.erase(m.layers.begin() + static_cast<std::ptrdiff_t>(pos));
            --m.config.n_layer;
            int64_t scored = 0;
            const double ppl = std::exp(calibration_nll(m, run, scored));
            m.layers.insert(m.layers.begin() + static_cast<std::ptrdiff_t>(pos), std::move(held));
            ++m.config.n_layer;
            r.ppl_without[static_cast<size_t>(alive[pos])] = ppl;
            if (log) log(format("round %lld: without block %lld ppl %.4f\n", (long long)round + 1, (long long)alive[pos], ppl));
            if (ppl < best) best = ppl, best_pos = pos;
        }
        r.dropped = alive[best_pos];
        m.layers.erase(m.layers.begin() + static_cast<std::ptrdiff_t>(best_pos));
        --m.config.n_layer;
        alive.erase(alive.begin() + static_cast<std::ptrdiff_t>(best_pos));
        res.dropped.push_back(r.dropped);
        res.calib_ppl_after = best;
        res.rounds.push_back(std::move(r));
    }
    std::sort(res.dropped.begin(), res.dropped.end());
    for (const NamedTensor& t : g.tensors) res.params_before += t.tensor.numel();
    io::GgufMetadata md = g.info.metadata;
    std::vector<NamedTensor> tensors = g.tensors;
    remove_blocks(md, tensors, res.dropped, n_blocks, o.input);
    for (const NamedTensor& t : tensors) res.params_after += t.tensor.numel();
    llm::write_model_gguf(o.output, md, tensors);
    return res;
}

}  // namespace tern::prune
