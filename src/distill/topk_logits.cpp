#include "distill/topk_logits.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>

#include "core/error.h"
#include "io/safetensors.h"

namespace tern::distill {

namespace {
constexpr const char* kFormat = "teacher-topk-v1";

int64_t metadata_int(const io::SafetensorsModel& f, const std::string& path, const std::string& key) {
    for (const auto& [k, v] : f.infos.at(0).metadata)
        if (k == key) {
            try {
                size_t used = 0;
                const long long x = std::stoll(v, &used);
                if (used == v.size() && x >= 1 && x <= (int64_t{1} << 31)) return x;
            } catch (const std::exception&) {
            }
            throw InputError(path, "bad " + key + " metadata '" + v + "' (expected a positive integer)");
        }
    throw InputError(path, "no " + key + " in __metadata__ (not a teacher top-k logits file)");
}

const NamedTensor& find_tensor(const io::SafetensorsModel& f, const std::string& path, const std::string& name) {
    for (const auto& t : f.tensors)
        if (t.name == name) return t;
    throw InputError(path, "no '" + name + "' tensor (a top-k logits file holds 'indices' and 'values')");
}
}  // namespace

TopkLogits topk_of_logits(const float* logits, int64_t rows, int64_t vocab, int64_t k) {
    if (k < 1 || k > vocab) throw Error("topk_of_logits", "k must be in [1, vocab]");
    TopkLogits t;
    t.positions = rows;
    t.k = k;
    t.vocab_size = vocab;
    t.indices.resize(static_cast<size_t>(rows * k));
    t.values.resize(static_cast<size_t>(rows * k));
    std::vector<int32_t> order(static_cast<size_t>(vocab));
    for (int64_t r = 0; r < rows; ++r) {
        const float* row = logits + r * vocab;
        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + k, order.end(),
                          [row](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
        for (int64_t j = 0; j < k; ++j) {
            t.indices[static_cast<size_t>(r * k + j)] = order[static_cast<size_t>(j)];
            t.values[static_cast<size_t>(r * k + j)] = row[order[static_cast<size_t>(j)]];
        }
    }
    return t;
}

void write_topk_logits(const std::string& path, const TopkLogits& t) {
    const size_t n = static_cast<size_t>(t.positions * t.k);
    if (t.indices.size() != n || t.values.size() != n) throw Error(path, "top-k logits: sizes do not match positions * k");
    Tensor idx = Tensor::empty({t.positions, t.k}, DType::i32);
    Tensor val = Tensor::empty({t.positions, t.k});
    std::memcpy(idx.data<int32_t>(), t.indices.data(), n * sizeof(int32_t));
    std::memcpy(val.data<float>(), t.values.data(), n * sizeof(float));
    io::write_safetensors(path, {{"indices", idx}, {"values", val}},
                          {{"tern.format", kFormat}, {"tern.vocab_size", std::to_string(t.vocab_size)}});
}

TopkLogits read_topk_logits(const std::string& path) {
    const io::SafetensorsModel f = io::read_safetensors(path);
    std::string file_format;
    for (const auto& [k, v] : f.infos.at(0).metadata)
        if (k == "tern.format") file_format = v;
    if (file_format != kFormat)
        throw InputError(path, "not a teacher top-k logits file (tern.format '" + file_format + "', expected '" + kFormat +
                                   "')");
    TopkLogits t;
    t.vocab_size = metadata_int(f, path, "tern.vocab_size");
    const Tensor& idx = find_tensor(f, path, "indices").tensor;
    const Tensor& val = find_tensor(f, path, "values").tensor;
    if (idx.dtype() != DType::i32 || val.dtype() != DType::f32)
        throw InputError(path, "'indices' must be I32 and 'values' F32");
    if (idx.rank() != 2 || idx.shape() != val.shape() || idx.dim(1) < 1)
        throw InputError(path, "'indices' " + shape_to_string(idx.shape()) + " and 'values' " +
                                   shape_to_string(val.shape()) + " must both be (positions, k) with k >= 1");
    t.positions = idx.dim(0);
    t.k = idx.dim(1);
    if (t.k > t.vocab_size)
        throw InputError(path, format("k %lld exceeds the vocabulary of %lld", (long long)t.k, (long long)t.vocab_size));
    const size_t n = static_cast<size_t>(idx.numel());
    t.indices.resize(n);
    t.values.resize(n);
    std::memcpy(t.indices.data(), idx.data<int32_t>(), n * sizeof(int32_t));
    std::memcpy(t.values.data(), val.data<float>(), n * sizeof(float));
    for (size_t i = 0; i < n; ++i) {
        if (t.indices[i] < 0 || t.indices[i] >= t.vocab_size)
            throw InputError(path, format("token id %d at position %lld is outside the vocabulary of %lld", t.indices[i],
                                          (long long)(static_cast<int64_t>(i) / t.k), (long long)t.vocab_size));
        if (!std::isfinite(t.values[i]))
            throw InputError(path, format("logit at position %lld is NaN or Inf", (long long)(static_cast<int64_t>(i) / t.k)));
    }
    return t;
}

}  // namespace tern::distill
