// Trains 4k and 8k byte-level BPE vocabularies on the whole train split of the
// text corpus (~15 MB) and checks speed, losslessness on the held-out splits
// and compression (chars/token = bytes of text per token).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "io/bpe_trainer.h"
#include "io/text_corpus.h"
#include "ref/reference.h"

using namespace tern;

TEST(LongBpe, TrainsFullCorpusVocabularies) {
    const TextCorpus corpus = load_text_corpus();
    if (!corpus.missing_sources.empty()) TERN_MISSING_REFERENCE() << corpus.missing_sources[0] << " not installed";
    const CorpusSplits s = split_corpus(corpus.documents);
    std::printf("[ corpus   ] train %zu, validation %zu, test %zu chars\n", s.train.size(), s.validation.size(),
                s.test.size());
    for (int vocab_size : {4096, 8192}) {
        BpeTrainerOptions opts;
        opts.vocab_size = vocab_size;
        BpeTrainStats st;
        const auto t0 = std::chrono::steady_clock::now();
        const BpeVocabulary v = train_bpe(s.train, opts, &st);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        ASSERT_EQ(v.size(), vocab_size);  // the time is printed below; speed belongs in benchmarks, not a pass/fail
        const BpeCodec codec(v);
        const auto t1 = std::chrono::steady_clock::now();
        const auto train_ids = codec.encode(s.train);
        const double enc_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
        EXPECT_EQ(static_cast<int64_t>(train_ids.size()), st.final_tokens);
        const auto val_ids = codec.encode(s.validation);
        const auto test_ids = codec.encode(s.test);
        EXPECT_EQ(codec.decode(val_ids), s.validation);
        EXPECT_EQ(codec.decode(test_ids), s.test);
        std::printf("[ bpe %d ] trained in %.2f s (count %.2f s, merges %.2f s; %lld words, %lld unique); "
                    "encode train %.2f s; chars/token train %.3f, validation %.3f, test %.3f\n",
                    vocab_size, secs, st.seconds_count, st.seconds_merge, (long long)st.words,
                    (long long)st.unique_words, enc_secs, double(s.train.size()) / train_ids.size(),
                    double(s.validation.size()) / val_ids.size(), double(s.test.size()) / test_ids.size());
        const auto path = std::filesystem::temp_directory_path() / ("tern_bpe_" + std::to_string(vocab_size) + ".json");
        write_tokenizer_json(path.string(), v);
        EXPECT_GT(std::filesystem::file_size(path), 10000u);
        std::filesystem::remove(path);
    }
}
