#include "quant/calibration_data.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "io/text_corpus.h"

namespace tern::quant {
namespace {

constexpr const char* kCalibForms =
    "expected text:train, text:validation, text:test, text:FILE or fashion-mnist:train|t10k:N";

[[noreturn]] void bad_spec(const std::string& spec, const std::string& why) {
    throw UsageError("--calib", "'" + spec + "': " + why + " (" + kCalibForms + ")");
}

}  // namespace

CalibSpec parse_calib_spec(const std::string& spec) {
    CalibSpec s;
    s.spec = spec;
    if (spec.rfind("text:", 0) == 0) {
        const std::string rest = spec.substr(5);
        if (rest.empty()) bad_spec(spec, "no split or file after 'text:'");
        if (rest == "train" || rest == "validation" || rest == "test") {
            s.kind = CalibSpec::Kind::text_split;
            s.split = rest;
        } else {
            s.kind = CalibSpec::Kind::text_file;
            s.path = rest;
        }
        return s;
    }
    if (spec.rfind("fashion-mnist:", 0) == 0) {
        const std::string rest = spec.substr(14);
        const size_t colon = rest.find(':');
        if (colon == std::string::npos) bad_spec(spec, "no image count");
        s.kind = CalibSpec::Kind::fashion_mnist;
        s.split = rest.substr(0, colon);
        if (s.split != "train" && s.split != "t10k") bad_spec(spec, "unknown split '" + s.split + "'");
        const std::string n = rest.substr(colon + 1);
        const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), s.images);
        if (n.empty() || ec != std::errc() || end != n.data() + n.size() || s.images < 1)
            bad_spec(spec, "image count '" + n + "' is not a positive integer");
        return s;
    }
    bad_spec(spec, "unknown calibration set");
}

TokenWindows cut_token_windows(std::span<const int32_t> text_tokens, int32_t bos, int64_t n_tokens, int64_t ctx,
                               const std::string& source) {
    if (ctx < 2) throw UsageError("--calib-ctx", format("%lld is too short; must be >= 2", (long long)ctx));
    if (n_tokens < 1) throw UsageError("--calib-tokens", format("%lld; must be >= 1", (long long)n_tokens));
    const int64_t lead = bos >= 0 ? 1 : 0;
    TokenWindows tw;
    size_t next = 0;  // next text token
    for (int64_t left = n_tokens; left > 0;) {
        const int64_t len = std::min(ctx, left);
        const size_t take = static_cast<size_t>(std::max<int64_t>(len - lead, 0));
        if (next + take > text_tokens.size()) {
            const int64_t full = n_tokens / ctx, rem = n_tokens % ctx;
            const int64_t text_needed = full * (ctx - lead) + std::max<int64_t>(rem - lead, 0);
            throw InputError(source, format("has %zu tokens; --calib-tokens %lld in windows of %lld needs %lld",
                                            text_tokens.size(), (long long)n_tokens, (long long)ctx,
                                            (long long)text_needed));
        }
        std::vector<int32_t> w;
        w.reserve(static_cast<size_t>(len));
        if (lead) w.push_back(bos);
        w.insert(w.end(), text_tokens.begin() + static_cast<std::ptrdiff_t>(next),
                 text_tokens.begin() + static_cast<std::ptrdiff_t>(next + take));
        next += take;
        left -= static_cast<int64_t>(w.size());
        tw.n_tokens += static_cast<int64_t>(w.size());
        tw.windows.push_back(std::move(w));
    }
    return tw;
}

std::string calibration_text(const CalibSpec& spec) {
    if (spec.kind == CalibSpec::Kind::text_file) {
        std::ifstream in(spec.path, std::ios::binary);
        if (!in) throw IoError(spec.path, "cannot open the calibration text");
        return std::string((std::istreambuf_iterator<char>(in)), {});
    }
    if (spec.kind != CalibSpec::Kind::text_split) throw UsageError("--calib", "'" + spec.spec + "' is not text");
    const TextCorpus corpus = load_text_corpus();
    if (!corpus.missing_sources.empty())
        throw InputError("--calib", "the text corpus is not installed (run scripts/setup.sh)");
    CorpusSplits splits = split_corpus(corpus.documents);
    if (spec.split == "train") return std::move(splits.train);
    if (spec.split == "validation") return std::move(splits.validation);
    return std::move(splits.test);
}

TokenWindows calibration_token_windows(const CalibSpec& spec, const llm::TextTokenizer& tokenizer, int32_t bos,
                                       int64_t n_tokens, int64_t ctx) {
    const std::string source = spec.kind == CalibSpec::Kind::text_file ? spec.path : spec.spec;
    const std::string text = calibration_text(spec);
    // Only a prefix is tokenized (a corpus split is megabytes): about 8 bytes a
    // token, doubled until enough, cut at whitespace so no word is split.
    const int64_t need = std::max<int64_t>(n_tokens, 1);
    size_t bytes = std::min(text.size(), static_cast<size_t>(need) * 8 + 256);
    std::vector<int32_t> ids;
    for (;;) {
        size_t cut = bytes;
        if (cut < text.size()) {
            const size_t ws = text.find_last_of(" \n\t", cut);
            if (ws != std::string::npos && ws > cut / 2) cut = ws;
        }
        ids = tokenizer.encode(std::string_view(text).substr(0, cut), /*add_bos=*/false);
        if (static_cast<int64_t>(ids.size()) >= need || cut == text.size()) break;
        bytes = std::min(text.size(), bytes * 2);
    }
    return cut_token_windows(ids, bos, n_tokens, ctx, source);
}

data::ImageDataset calibration_images(const CalibSpec& spec, const std::string& dir) {
    if (spec.kind != CalibSpec::Kind::fashion_mnist)
        throw UsageError("--calib", "'" + spec.spec + "' is not an image set");
    const data::ImageDataset all = data::load_fashion_mnist(spec.split, dir);
    if (spec.images > all.size())
        throw UsageError("--calib", format("'%s': the %s split has %lld images; ask for 1..%lld", spec.spec.c_str(),
                                           spec.split.c_str(), (long long)all.size(), (long long)all.size()));
    std::vector<int64_t> first(static_cast<size_t>(spec.images));
    for (int64_t i = 0; i < spec.images; ++i) first[static_cast<size_t>(i)] = i;
    return data::subset(all, first);
}

}  // namespace tern::quant
