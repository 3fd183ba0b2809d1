#include "io/bpe_trainer.h"

#include <algorithm>
#include <chrono>
#include <queue>
#include <unordered_map>

#include "core/error.h"
#include "core/stopwatch.h"

namespace tern {
namespace {

uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }
int32_t key_left(uint64_t k) { return static_cast<int32_t>(k >> 32); }
int32_t key_right(uint64_t k) { return static_cast<int32_t>(k & 0xFFFFFFFFu); }

struct Word {
    std::vector<int32_t> symbols;
    int64_t count = 0;
};

// Max-heap entry; stale entries (count no longer current) are re-checked on pop.
struct HeapEntry {
    int64_t count;
    uint64_t pair;
    bool operator<(const HeapEntry& o) const {
        // Lower priority: fewer occurrences, or on a tie the larger (left, right).
        return count != o.count ? count < o.count : pair > o.pair;
    }
};

class MergeState {
public:
    explicit MergeState(std::vector<Word> words) : words_(std::move(words)) {
        for (int32_t w = 0; w < static_cast<int32_t>(words_.size()); ++w) {
            const auto& s = words_[w].symbols;
            for (size_t i = 0; i + 1 < s.size(); ++i) {
                const uint64_t k = pair_key(s[i], s[i + 1]);
                count_[k] += words_[w].count;
                auto& where = where_[k];
                if (where.empty() || where.back() != w) where.push_back(w);
            }
        }
        for (const auto& [k, c] : count_) heap_.push({c, k});
    }

    // The most frequent pair (ties: smallest key), or count 0 when none is left.
    HeapEntry best() {
        while (!heap_.empty()) {
            const HeapEntry top = heap_.top();
            auto it = count_.find(top.pair);
            const int64_t now = it == count_.end() ? 0 : it->second;
            if (now == top.count) return top;
            heap_.pop();
            if (now > 0) heap_.push({now, top.pair});
        }
        return {0, 0};
    }

    // Replaces every occurrence of `pair` by `new_id` and updates the counts of
    // the pairs around each occurrence, in the affected words only.
    void merge(uint64_t pair, int32_t new_id) {
        const int32_t a = key_left(pair), b = key_right(pair);
        std::vector<int32_t> affected = std::move(where_[pair]);
        where_.erase(pair);
        std::sort(affected.begin(), affected.end());
        affected.erase(std::unique(affected.begin(), affected.end()), affected.end());
        std::vector<uint64_t> touched;
        std::vector<int32_t> merged;
        for (int32_t w : affected) {
            Word& word = words_[w];
            auto& s = word.symbols;
            bool found = false;
            for (size_t i = 0; i + 1 < s.size() && !found; ++i) found = s[i] == a && s[i + 1] == b;
            if (!found) continue;  // stale index entry: an earlier merge consumed the pair here
            for (size_t i = 0; i + 1 < s.size(); ++i) add(pair_key(s[i], s[i + 1]), -word.count);
            merged.clear();
            for (size_t i = 0; i < s.size(); ++i) {
                if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
                    merged.push_back(new_id);
                    ++i;
                } else {
                    merged.push_back(s[i]);
                }
            }
            s.assign(merged.begin(), merged.end());
            for (size_t i = 0; i + 1 < s.size(); ++i) {
                const uint64_t k = pair_key(s[i], s[i + 1]);
                add(k, word.count);
                // Only pairs with the new token can have grown; they need a fresh heap entry.
                if (s[i] == new_id || s[i + 1] == new_id) {
                    auto& where = where_[k];
                    if (where.empty() || where.back() != w) where.push_back(w);
                    touched.push_back(k);
                }
            }
        }
        std::sort(touched.begin(), touched.end());
        touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
        for (uint64_t k : touched) {
            auto it = count_.find(k);
            if (it != count_.end() && it->second > 0) heap_.push({it->second, k});
        }
    }

    int64_t total_symbols() const {
        int64_t t = 0;
        for (const auto& w : words_) t += w.count * static_cast<int64_t>(w.symbols.size());
        return t;
    }

private:
    void add(uint64_t k, int64_t delta) {
        auto it = count_.try_emplace(k, 0).first;
        it->second += delta;
        if (it->second == 0) count_.erase(it);
    }

    std::vector<Word> words_;
    std::unordered_map<uint64_t, int64_t> count_;               // pair -> occurrences in the corpus
    std::unordered_map<uint64_t, std::vector<int32_t>> where_;  // pair -> words that (may) contain it
    std::priority_queue<HeapEntry> heap_;
};

}  // namespace

int32_t BpeVocabulary::special_token_id(std::string_view token) const {
    for (size_t k = 0; k < special_tokens.size(); ++k)
        if (special_tokens[k] == token) return static_cast<int32_t>(256 + merges.size() + k);
    return -1;
}

BpeVocabulary train_bpe(std::string_view text, const BpeTrainerOptions& opts, BpeTrainStats* stats) {
    const int64_t n_special = static_cast<int64_t>(opts.special_tokens.size());
    if (opts.vocab_size < 256 + n_special) {
        throw InputError("bpe_trainer", format("vocab size %d is below 256 bytes + %lld special tokens", opts.vocab_size,
                                               (long long)n_special));
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::unordered_map<std::string_view, int64_t> freq;
    freq.reserve(1 << 18);
    int64_t n_words = 0;
    for_each_pretoken(text, [&](std::string_view w) {
        ++freq[w];
        ++n_words;
    });
    // Sorted by bytes so the word table (and everything after) is independent of hashing order.
    std::vector<std::pair<std::string_view, int64_t>> table(freq.begin(), freq.end());
    std::sort(table.begin(), table.end());
    std::vector<Word> words;
    words.reserve(table.size());
    for (const auto& [w, c] : table) {
        Word word;
        word.count = c;
        for (unsigned char ch : w) word.symbols.push_back(ch);
        words.push_back(std::move(word));
    }
    const double t_count = seconds_since(t0);

    const auto t1 = std::chrono::steady_clock::now();
    BpeVocabulary vocab;
    for (int b = 0; b < 256; ++b) vocab.tokens.emplace_back(1, static_cast<char>(b));
    MergeState state(std::move(words));
    const int64_t n_merges = opts.vocab_size - 256 - n_special;
    while (static_cast<int64_t>(vocab.merges.size()) < n_merges) {
        const HeapEntry best = state.best();
        if (best.count < std::max<int64_t>(opts.min_pair_count, 1)) break;
        const int32_t a = key_left(best.pair), b = key_right(best.pair);
        const auto new_id = static_cast<int32_t>(vocab.tokens.size());
        vocab.merges.emplace_back(a, b);
        vocab.tokens.push_back(vocab.tokens[a] + vocab.tokens[b]);
        state.merge(best.pair, new_id);
    }
    for (const auto& s : opts.special_tokens) {
        vocab.tokens.push_back(s);
        vocab.special_tokens.push_back(s);
    }
    if (stats) {
        stats->words = n_words;
        stats->unique_words = static_cast<int64_t>(table.size());
        stats->text_bytes = static_cast<int64_t>(text.size());
        stats->final_tokens = state.total_symbols();
        stats->seconds_count = t_count;
        stats->seconds_merge = seconds_since(t1);
    }
    return vocab;
}

}  // namespace tern
