// Byte-level BPE (GPT-2, Llama-3, Qwen): text -> split pieces -> bytes mapped
// to printable code points -> merges by rank. Results are cached per piece,
// since natural text repeats the same words over and over.
#include <array>
#include <mutex>
#include <queue>

#include "core/error.h"
#include "io/tokenizer_internal.h"
#include "io/unicode_text.h"

namespace tern {
namespace {

struct ByteMap {
    std::array<std::string, 256> utf8;   // byte -> UTF-8 of its code point
    std::array<int16_t, 512> from_cp{};  // code point (< 512) -> byte, -1 if none
    ByteMap() {
        from_cp.fill(-1);
        uint32_t next_extra = 256;
        for (uint32_t b = 0; b < 256; ++b) {
            // Printable Latin-1 bytes stand for themselves; the rest move to 256+.
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            const uint32_t cp = printable ? b : next_extra++;
            unicode::append_utf8(utf8[b], cp);
            from_cp[cp] = int16_t(b);
        }
    }
};
const ByteMap& byte_map() {
    static const ByteMap m;
    return m;
}

class ByteLevelBpe final : public Tokenizer {
public:
    explicit ByteLevelBpe(ByteLevelBpeSpec spec)
        : Tokenizer(std::move(spec.vocab)),
          split_(spec.split),
          add_prefix_space_(spec.add_prefix_space),
          ignore_merges_(spec.ignore_merges),
          nfc_(spec.nfc) {
        const ByteMap& bm = byte_map();
        for (int b = 0; b < 256; ++b) {
            const int32_t* id = find_text(bm.utf8[b]);
            if (!id)
                throw InputError(where_, format("byte-level vocabulary has no token for byte 0x%02X ('%s')", b,
                                                bm.utf8[b].c_str()));
            byte_ids_[b] = *id;
        }
        merges_.reserve(spec.merges.size());
        for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
            const auto& [a, b] = spec.merges[rank];
            const int32_t* ia = find_text(a);
            const int32_t* ib = find_text(b);
            const int32_t* iab = find_text(a + b);
            if (!ia || !ib || !iab) {
                const std::string missing = !ia ? a : !ib ? b : a + b;
                throw InputError(where_, format("merge %zu '%s %s' references unknown token '%s'", rank, a.c_str(),
                                                b.c_str(), missing.c_str()));
            }
            merges_.emplace(pair_key(*ia, *ib), Merge{int32_t(rank), *iab});  // the first rank wins a duplicate
        }
        pieces_.resize(texts_.size());
        for (size_t id = 0; id < texts_.size(); ++id) {
            const std::string& t = texts_[id];
            if (types_[id] == TokenType::control || types_[id] == TokenType::user_defined) {
                pieces_[id] = t;  // added tokens are stored as the raw text they match
                continue;
            }
            // Byte-level text -> bytes; a code point outside the map stays as its UTF-8.
            for (size_t pos = 0; pos < t.size();) {
                const unicode::Decoded d = unicode::decode_utf8(t, pos);
                const int b = d.cp < 512 ? bm.from_cp[d.cp] : -1;
                if (b >= 0) pieces_[id].push_back(char(b));
                else pieces_[id].append(t, pos, d.len);
                pos += d.len;
            }
        }
        num_merges_ = spec.merges.size();
    }

    std::string describe() const override {
        return format("byte-level BPE, %s split%s%s, %zu tokens, %zu merges", split_pattern_name(split_),
                      nfc_ ? ", NFC" : "", ignore_merges_ ? ", ignore_merges" : "", texts_.size(), num_merges_);
    }

protected:
    void encode_plain(std::string_view text, bool at_text_start, std::vector<int32_t>& out) const override {
        std::string normalized;
        if (nfc_ && !unicode::nfc_quick_yes(text)) {
            normalized = unicode::nfc(text);
            text = normalized;
        }
        if (add_prefix_space_ && !text.empty() && text[0] != ' ') {
            normalized = " " + std::string(text);
            text = normalized;
        }
        std::vector<std::string_view> words;
        words.reserve(text.size() / 4 + 4);
        split_pretokens(text, split_, words);
        std::lock_guard<std::mutex> lock(cache_mutex_);
        if (cache_.size() > kMaxCacheEntries) {  // bound memory on endless distinct input
            cache_.clear();
            cache_ids_.clear();
        }
        for (std::string_view w : words) {
            auto it = cache_.find(w);
            if (it == cache_.end()) {
                const uint32_t begin = uint32_t(cache_ids_.size());
                encode_word(w, cache_ids_);
                it = cache_.emplace(std::string(w), std::pair{begin, uint32_t(cache_ids_.size()) - begin}).first;
            }
            const int32_t* ids = cache_ids_.data() + it->second.first;
            out.insert(out.end(), ids, ids + it->second.second);
        }
    }

    void append_piece(int32_t id, std::string& out) const override { out += pieces_[id]; }

private:
    struct Merge {
        int32_t rank;
        int32_t result;
    };
    static uint64_t pair_key(int32_t a, int32_t b) { return uint64_t(uint32_t(a)) << 32 | uint32_t(b); }
    static constexpr size_t kMaxCacheEntries = 1 << 20;

    const Merge* find_merge(int32_t a, int32_t b) const {
        auto it = merges_.find(pair_key(a, b));
        return it == merges_.end() ? nullptr : &it->second;
    }

    // BPE on one piece: repeatedly apply the lowest-rank merge, leftmost first
    // on ties (HF tokenizers' order), via a heap over a linked list of symbols.
    void encode_word(std::string_view word, std::vector<int32_t>& out) const {
        const ByteMap& bm = byte_map();
        if (ignore_merges_) {
            std::string mapped;
            for (unsigned char c : word) mapped += bm.utf8[c];
            if (const int32_t* id = find_text(mapped)) {
                out.push_back(*id);
                return;
            }
        }
        const int n = int(word.size());
        std::vector<int32_t> sym(n);  // symbol ids; merged-away slots are dead
        std::vector<int> next(n), prev(n);
        for (int i = 0; i < n; ++i) {
            sym[i] = byte_ids_[uint8_t(word[i])];
            next[i] = i + 1;
            prev[i] = i - 1;
        }
        struct Candidate {
            int32_t rank;
            int left;
            int32_t left_id, right_id;
            bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
        };
        std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
        auto push = [&](int left) {
            if (left < 0 || next[left] >= n) return;
            if (const Merge* m = find_merge(sym[left], sym[next[left]]))
                heap.push({m->rank, left, sym[left], sym[next[left]]});
        };
        for (int i = 0; i + 1 < n; ++i) push(i);
        std::vector<bool> dead(n, false);
        while (!heap.empty()) {
            const Candidate c = heap.top();
            heap.pop();
            const int right = next[c.left];
            // Stale entry: one side has merged with something else since the push.
            if (dead[c.left] || right >= n || sym[c.left] != c.left_id || sym[right] != c.right_id) continue;
            sym[c.left] = find_merge(c.left_id, c.right_id)->result;
            dead[right] = true;
            next[c.left] = next[right];
            if (next[right] < n) prev[next[right]] = c.left;
            push(prev[c.left]);
            push(c.left);
        }
        for (int i = 0; i < n; i = next[i]) out.push_back(sym[i]);
    }

    SplitPattern split_;
    bool add_prefix_space_, ignore_merges_, nfc_;
    size_t num_merges_ = 0;
    std::array<int32_t, 256> byte_ids_{};
    std::unordered_map<uint64_t, Merge> merges_;
    std::vector<std::string> pieces_;  // id -> bytes

    mutable std::mutex cache_mutex_;  // encode is const and may run on several threads
    mutable std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, StringHash, std::equal_to<>> cache_;
    mutable std::vector<int32_t> cache_ids_;  // the cached id sequences, back to back
};

}  // namespace

const std::string& byte_to_unicode_utf8(uint8_t b) { return byte_map().utf8[b]; }

int byte_from_unicode(uint32_t cp) { return cp < 512 ? byte_map().from_cp[cp] : -1; }

std::unique_ptr<Tokenizer> make_byte_level_bpe(ByteLevelBpeSpec spec) {
    return std::make_unique<ByteLevelBpe>(std::move(spec));
}

}  // namespace tern
