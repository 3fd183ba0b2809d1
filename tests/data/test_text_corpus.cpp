// Text corpora: every source loads from the real installed files, the Austen
// novels come out of R's lazy-load database intact, and the document-level
// splits are disjoint, complete and stable.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "io/r_lazyload.h"
#include "io/text_corpus.h"
#include "ref/reference.h"

using namespace tern;

namespace {

const TextCorpus& corpus() {
    static const TextCorpus c = load_text_corpus();
    return c;
}

#define REQUIRE_ALL_SOURCES()                                                                     \
    if (!corpus().missing_sources.empty())                                                        \
    TERN_MISSING_REFERENCE() << "text source '" << corpus().missing_sources[0] << "' not installed (run scripts/setup.sh)"

size_t count_source(const std::string& source) {
    size_t n = 0;
    for (const auto& d : corpus().documents) n += d.source == source;
    return n;
}

const TextDocument* find_doc(const std::string& source, const std::string& name) {
    for (const auto& d : corpus().documents)
        if (d.source == source && d.name == name) return &d;
    return nullptr;
}

}  // namespace

TEST(TextCorpus, LoadsEverySource) {
    REQUIRE_ALL_SOURCES();
    EXPECT_EQ(count_source("sotu"), 233u);
    EXPECT_EQ(count_source("moby-dick"), 138u);  // 135 chapters + etymology, extracts, epilogue
    EXPECT_EQ(count_source("gutenberg"), 2u);
    EXPECT_EQ(count_source("austen"), 6u);

    const TextDocument* washington = find_doc("sotu", "1790_george_washington_n");
    ASSERT_TRUE(washington);
    EXPECT_EQ(washington->text.rfind("Fellow-Citizens of the Senate and House of Representatives:", 0), 0u);
    const TextDocument* ch1 = find_doc("moby-dick", "chapter_1");
    ASSERT_TRUE(ch1);
    EXPECT_NE(ch1->text.find("Call me Ishmael."), std::string::npos);
    EXPECT_EQ(find_doc("moby-dick", "data"), nullptr);  // the whole-book duplicate is skipped
    // Chapters are in numeric order.
    std::vector<std::string> moby;
    for (const auto& d : corpus().documents)
        if (d.source == "moby-dick") moby.push_back(d.name);
    EXPECT_LT(std::find(moby.begin(), moby.end(), "chapter_2"), std::find(moby.begin(), moby.end(), "chapter_10"));

    // Sherlock Holmes: BOM, CRLF and the Gutenberg licence are gone, the stories stay.
    const TextDocument* holmes = find_doc("gutenberg", "pg1661");
    ASSERT_TRUE(holmes);
    EXPECT_EQ(holmes->text.find('\r'), std::string::npos);
    EXPECT_EQ(holmes->text.find("\xEF\xBB\xBF"), std::string::npos);
    EXPECT_EQ(holmes->text.find("PROJECT GUTENBERG EBOOK"), std::string::npos);
    EXPECT_NE(holmes->text.find("To Sherlock Holmes she is always THE woman."), std::string::npos);
    EXPECT_GT(holmes->text.size(), 500000u);
}

TEST(TextCorpus, AustenFromRLazyLoadDatabase) {
    REQUIRE_ALL_SOURCES();
    const std::vector<std::string> names = {"emma", "mansfieldpark", "northangerabbey",
                                            "persuasion", "prideprejudice", "sensesensibility"};
    std::vector<std::string> got;
    for (const auto& d : corpus().documents)
        if (d.source == "austen") got.push_back(d.name);
    EXPECT_EQ(got, names);
    // Emma: 16,235 lines holding 866,793 characters (counted independently with Python's zlib).
    const TextDocument* emma = find_doc("austen", "emma");
    ASSERT_TRUE(emma);
    EXPECT_EQ(emma->text.size(), 866793u + 16235u);
    EXPECT_EQ(emma->text.rfind("EMMA\n\nBy Jane Austen\n", 0), 0u);
    const TextDocument* pride = find_doc("austen", "prideprejudice");
    ASSERT_TRUE(pride);
    EXPECT_NE(pride->text.find("It is a truth universally acknowledged, that a single man in possession"),
              std::string::npos);

    // A damaged index is one InputError naming the file.
    const auto dir = std::filesystem::temp_directory_path() / ("tern_rdata_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "bad.rdx") << "X\n\x00\x00";
    std::ofstream(dir / "bad.rdb") << "";
    try {
        read_r_lazyload_strings((dir / "bad").string());
        ADD_FAILURE() << "damaged index accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("bad.rdx"), std::string::npos) << e.what();
    }
    std::filesystem::remove_all(dir);
}

TEST(TextCorpus, DocumentSplitsAreDisjointCompleteAndStable) {
    REQUIRE_ALL_SOURCES();
    const CorpusSplits s = split_corpus(corpus().documents);
    std::set<std::string> train(s.train_docs.begin(), s.train_docs.end());
    std::set<std::string> val(s.validation_docs.begin(), s.validation_docs.end());
    std::set<std::string> test(s.test_docs.begin(), s.test_docs.end());
    EXPECT_EQ(train.size() + val.size() + test.size(), corpus().documents.size());
    for (const auto& n : val) EXPECT_FALSE(train.count(n) || test.count(n)) << n;
    for (const auto& n : test) EXPECT_FALSE(train.count(n)) << n;
    EXPECT_FALSE(val.empty());
    EXPECT_FALSE(test.empty());
    // Roughly 90/5/5 by document count.
    EXPECT_GT(train.size(), corpus().documents.size() * 80 / 100);

    // Stable: a document's split depends on its name only, not on what else is loaded.
    std::vector<TextDocument> reversed(corpus().documents.rbegin(), corpus().documents.rend());
    reversed.resize(reversed.size() / 2);
    for (const auto& d : reversed) {
        const std::string key = d.source + "/" + d.name;
        const CorpusSplit sp = split_of_document(d);
        EXPECT_EQ(sp == CorpusSplit::train, train.count(key) == 1) << key;
        EXPECT_EQ(sp == CorpusSplit::validation, val.count(key) == 1) << key;
    }
    const CorpusSplits again = split_corpus(corpus().documents);
    EXPECT_EQ(again.train, s.train);
    EXPECT_EQ(again.validation_docs, s.validation_docs);

    size_t total = 0;
    for (const auto& d : corpus().documents) total += d.text.size();
    const size_t seps = 2 * (corpus().documents.size() - 3);  // "\n\n" between documents of a split
    EXPECT_EQ(s.train.size() + s.validation.size() + s.test.size(), total + seps);
    std::printf("[ corpus   ] %zu documents, %zu chars: train %zu chars (%zu docs), validation %zu (%zu), test %zu (%zu)\n",
                corpus().documents.size(), total, s.train.size(), train.size(), s.validation.size(), val.size(),
                s.test.size(), test.size());
    std::printf("[ corpus   ] validation: ");
    for (const auto& n : s.validation_docs) std::printf("%s ", n.c_str());
    std::printf("\n[ corpus   ] test: ");
    for (const auto& n : s.test_docs) std::printf("%s ", n.c_str());
    std::printf("\n");
}
