#include "io/text_corpus.h"

#include "core/cache_dir.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "core/mapped_file.h"
#include "io/r_lazyload.h"

namespace fs = std::filesystem;

namespace tern {
namespace {

// Mechanical clean-up only: BOM, CRLF, Project Gutenberg boilerplate.
std::string normalise_text(std::string_view raw) {
    if (raw.substr(0, 3) == "\xEF\xBB\xBF") raw.remove_prefix(3);
    std::string s;
    s.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') continue;
        s.push_back(raw[i]);
    }
    const size_t start = s.find("*** START OF");
    if (start != std::string::npos) {
        const size_t body = s.find('\n', start);
        const size_t end = s.find("*** END OF", start);
        if (body != std::string::npos && end != std::string::npos && end > body) s = s.substr(body + 1, end - body - 1);
    }
    return s;
}

std::string read_corpus_text_file(const fs::path& path) {
    auto f = MappedFile::open(path.string());
    return normalise_text(std::string_view(reinterpret_cast<const char*>(f->data()), f->size()));
}

// Orders "chapter_2" before "chapter_10": digit runs compare as numbers.
bool natural_less(const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (std::isdigit((unsigned char)a[i]) && std::isdigit((unsigned char)b[j])) {
            size_t i2 = i, j2 = j;
            while (i2 < a.size() && std::isdigit((unsigned char)a[i2])) ++i2;
            while (j2 < b.size() && std::isdigit((unsigned char)b[j2])) ++j2;
            const std::string_view na(a.data() + i, i2 - i), nb(b.data() + j, j2 - j);
            if (na.size() != nb.size()) return na.size() < nb.size();
            if (na != nb) return na < nb;
            i = i2, j = j2;
        } else {
            if (a[i] != b[j]) return a[i] < b[j];
            ++i, ++j;
        }
    }
    return a.size() - i < b.size() - j;
}

std::vector<TextDocument> load_txt_dir(const std::string& dir, const std::string& source,
                                       const std::vector<std::string>& skip) {
    if (!fs::is_directory(dir)) throw IoError(dir, "not a directory (run scripts/setup.sh)");
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (!e.is_regular_file() || e.path().extension() != ".txt") continue;
        const std::string stem = e.path().stem().string();
        if (std::find(skip.begin(), skip.end(), stem) == skip.end()) names.push_back(stem);
    }
    std::sort(names.begin(), names.end(), natural_less);
    if (names.empty()) throw InputError(dir, "no .txt documents");
    std::vector<TextDocument> docs;
    for (const auto& n : names) docs.push_back({source, n, read_corpus_text_file(fs::path(dir) / (n + ".txt"))});
    return docs;
}

uint64_t fnv1a64(std::string_view s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
    return h;
}

}  // namespace

const char* corpus_split_name(CorpusSplit s) {
    switch (s) {
        case CorpusSplit::train: return "train";
        case CorpusSplit::validation: return "validation";
        case CorpusSplit::test: return "test";
    }
    return "?";
}

std::vector<TextDocument> load_sotu(const std::string& data_dir) { return load_txt_dir(data_dir, "sotu", {}); }

std::vector<TextDocument> load_moby_dick(const std::string& data_dir) {
    // data.txt is the whole book again and contents.txt the table of contents.
    return load_txt_dir(data_dir, "moby-dick", {"data", "contents"});
}

std::vector<TextDocument> load_gutenberg(const std::string& testdata_dir) {
    // The `_long` copies repeat Tom Sawyer eleven times: not new text.
    std::vector<TextDocument> docs;
    for (const char* n : {"Mark.Twain-Tom.Sawyer", "pg1661"}) {
        docs.push_back({"gutenberg", n, read_corpus_text_file(fs::path(testdata_dir) / (std::string(n) + ".txt"))});
    }
    return docs;
}

std::vector<TextDocument> load_austen(const std::string& rdata_base) {
    std::vector<TextDocument> docs;
    for (auto& var : read_r_lazyload_strings(rdata_base)) {
        // One string per line of the book; join them back into text.
        size_t total = 0;
        for (const auto& line : var.values) total += line.size() + 1;
        std::string text;
        text.reserve(total);
        for (const auto& line : var.values) {
            text += line;
            text += '\n';
        }
        docs.push_back({"austen", var.name, normalise_text(text)});
    }
    if (docs.empty()) throw InputError(rdata_base + ".rdx", "no character vectors in the database");
    return docs;
}

std::string default_text_cache_dir() { return tern_cache_dir(); }

TextCorpus load_text_corpus(const TextCorpusOptions& opts) {
    const fs::path cache = opts.cache_dir.empty() ? default_text_cache_dir() : opts.cache_dir;
    const fs::path sotu = cache / "npm/sotu/package/data";
    const fs::path moby = cache / "npm/moby-dick/package/data";
    const fs::path gutenberg = cache / "deb/pierrec-lz4/usr/share/gocode/src/github.com/pierrec/lz4/testdata";
    const fs::path austen = cache / "deb/janeaustenr/usr/lib/R/site-library/janeaustenr/data/Rdata";
    TextCorpus corpus;
    auto add = [&](bool wanted, const char* source, const fs::path& probe, auto&& load) {
        if (!wanted) return;
        if (!fs::exists(probe)) {
            corpus.missing_sources.push_back(source);
            return;
        }
        for (auto& d : load()) corpus.documents.push_back(std::move(d));
    };
    add(opts.sotu, "sotu", sotu, [&] { return load_sotu(sotu.string()); });
    add(opts.moby_dick, "moby-dick", moby, [&] { return load_moby_dick(moby.string()); });
    add(opts.gutenberg, "gutenberg", gutenberg / "pg1661.txt", [&] { return load_gutenberg(gutenberg.string()); });
    add(opts.austen, "austen", austen.string() + ".rdx", [&] { return load_austen(austen.string()); });
    return corpus;
}

CorpusSplit split_of_document(const TextDocument& doc, double validation_fraction, double test_fraction) {
    // FNV-1a then a splitmix finaliser: stable across platforms and runs, and
    // the low-entropy tails of similar names ("chapter_1x") still spread out.
    uint64_t h = fnv1a64(doc.source + "/" + doc.name);
    h ^= h >> 30, h *= 0xbf58476d1ce4e5b9ULL, h ^= h >> 27, h *= 0x94d049bb133111ebULL, h ^= h >> 31;
    const double u = static_cast<double>(h >> 11) * 0x1.0p-53;
    if (u < test_fraction) return CorpusSplit::test;
    if (u < test_fraction + validation_fraction) return CorpusSplit::validation;
    return CorpusSplit::train;
}

const std::string& CorpusSplits::text(CorpusSplit s) const {
    return s == CorpusSplit::train ? train : s == CorpusSplit::validation ? validation : test;
}

CorpusSplits split_corpus(const std::vector<TextDocument>& docs, double validation_fraction, double test_fraction) {
    if (!(validation_fraction >= 0 && test_fraction >= 0 && validation_fraction + test_fraction <= 1)) {
        throw InputError("text_corpus", format("split fractions %g + %g are not within [0, 1]", validation_fraction,
                                               test_fraction));
    }
    CorpusSplits out;
    for (const auto& d : docs) {
        const CorpusSplit s = split_of_document(d, validation_fraction, test_fraction);
        std::string& text = s == CorpusSplit::train ? out.train : s == CorpusSplit::validation ? out.validation : out.test;
        auto& names = s == CorpusSplit::train ? out.train_docs : s == CorpusSplit::validation ? out.validation_docs
                                                                                               : out.test_docs;
        if (!text.empty()) text += "\n\n";
        text += d.text;
        names.push_back(d.source + "/" + d.name);
    }
    return out;
}

}  // namespace tern
