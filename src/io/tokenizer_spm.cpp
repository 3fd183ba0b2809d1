// SentencePiece-style BPE (Llama-1/2, Mistral, TinyLlama GGUF vocabularies):
// spaces become U+2581, a dummy "▁" starts the text, adjacent symbols merge
// by the score of the merged piece (highest first, leftmost on ties), and a
// symbol left outside the vocabulary falls back to its <0xXX> byte tokens.
#include <array>
#include <queue>

#include "core/error.h"
#include "io/tokenizer_internal.h"
#include "io/unicode_text.h"

namespace tern {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK

bool mergeable(TokenType t) {
    return t == TokenType::normal || t == TokenType::user_defined || t == TokenType::undefined;
}

class SentencePieceBpe final : public Tokenizer {
public:
    SentencePieceBpe(Vocab vocab, std::vector<float> scores, bool add_space_prefix)
        : Tokenizer(std::move(vocab)), scores_(std::move(scores)), add_space_prefix_(add_space_prefix) {
        byte_ids_.fill(-1);
        for (int b = 0; b < 256; ++b)
            if (const int32_t* id = find_text(format("<0x%02X>", b))) byte_ids_[b] = *id;
    }

    std::string describe() const override {
        return format("SentencePiece BPE, %zu tokens%s", texts_.size(),
                      add_space_prefix_ ? ", dummy prefix" : "");
    }

protected:
    void encode_plain(std::string_view text, bool at_text_start, std::vector<int32_t>& out) const override {
        std::string norm;  // the text with spaces as U+2581
        norm.reserve(text.size() + 16);
        if (add_space_prefix_ && at_text_start) norm += kSpaceMark;
        for (char c : text) {
            if (c == ' ') norm += kSpaceMark;
            else norm.push_back(c);
        }
        struct Symbol {
            uint32_t start, len;
            int prev, next;
        };
        std::vector<Symbol> sym;  // one per UTF-8 character (or invalid byte) at first
        for (size_t pos = 0; pos < norm.size();) {
            const uint32_t len = unicode::decode_utf8(norm, pos).len;
            sym.push_back({uint32_t(pos), len, int(sym.size()) - 1, int(sym.size()) + 1});
            pos += len;
        }
        const int n = int(sym.size());
        struct Candidate {
            float score;
            int left;
            uint32_t len;  // the merged length, to spot stale entries
            bool operator<(const Candidate& o) const { return score != o.score ? score < o.score : left > o.left; }
        };
        std::priority_queue<Candidate> heap;
        auto push = [&](int left) {
            if (left < 0 || sym[left].next >= n) return;
            const Symbol& a = sym[left];
            const uint32_t len = a.len + sym[a.next].len;
            if (const int32_t* id = find_text(std::string_view(norm).substr(a.start, len)); id && mergeable(types_[*id]))
                heap.push({score(*id), left, len});
        };
        for (int i = 0; i + 1 < n; ++i) push(i);
        while (!heap.empty()) {
            const Candidate c = heap.top();
            heap.pop();
            Symbol& a = sym[c.left];
            if (a.len == 0 || a.next >= n || a.len + sym[a.next].len != c.len) continue;  // stale
            Symbol& b = sym[a.next];
            a.len += b.len;
            b.len = 0;
            a.next = b.next;
            if (a.next < n) sym[a.next].prev = c.left;
            push(a.prev);
            push(c.left);
        }
        for (int i = 0; i < n; i = sym[i].next) {
            const std::string_view piece = std::string_view(norm).substr(sym[i].start, sym[i].len);
            if (const int32_t* id = find_text(piece); id && mergeable(types_[*id])) {
                out.push_back(*id);
                continue;
            }
            for (unsigned char byte : piece) {  // byte fallback, else <unk>
                if (byte_ids_[byte] >= 0) out.push_back(byte_ids_[byte]);
                else if (special_.unk >= 0) out.push_back(special_.unk);
            }
        }
    }

    void append_piece(int32_t id, std::string& out) const override {
        const std::string& t = texts_[id];
        if (types_[id] == TokenType::byte && t.size() == 6 && t.rfind("<0x", 0) == 0) {
            out.push_back(char(std::stoi(t.substr(3, 2), nullptr, 16)));
            return;
        }
        for (size_t pos = 0; pos < t.size();) {
            if (t.compare(pos, kSpaceMark.size(), kSpaceMark) == 0) {
                out.push_back(' ');
                pos += kSpaceMark.size();
            } else {
                out.push_back(t[pos++]);
            }
        }
    }

    void finish_decode(std::string& text) const override {
        if (add_space_prefix_ && !text.empty() && text[0] == ' ') text.erase(0, 1);
    }

private:
    float score(int32_t id) const { return size_t(id) < scores_.size() ? scores_[id] : 0.0f; }

    std::vector<float> scores_;
    bool add_space_prefix_;
    std::array<int32_t, 256> byte_ids_{};
};

}  // namespace

std::unique_ptr<Tokenizer> make_sentencepiece_bpe(const std::vector<std::string>& tokens,
                                                  const std::vector<float>& scores,
                                                  const std::vector<int32_t>& token_types,
                                                  const SentencePieceOptions& options) {
    const std::string& where = options.where;
    if (tokens.empty()) throw InputError(where, "the vocabulary has no tokens");
    if (!scores.empty() && scores.size() != tokens.size())
        throw InputError(where, format("%zu scores for %zu tokens", scores.size(), tokens.size()));
    if (!token_types.empty() && token_types.size() != tokens.size())
        throw InputError(where, format("%zu token types for %zu tokens", token_types.size(), tokens.size()));
    Tokenizer::Vocab v;
    v.where = where;
    v.texts = tokens;
    v.types.assign(tokens.size(), TokenType::normal);
    for (size_t i = 0; i < token_types.size(); ++i) {
        if (token_types[i] < 0 || token_types[i] > 6)
            throw InputError(where, format("token %zu has unknown type %d", i, token_types[i]));
        v.types[i] = TokenType(token_types[i]);
    }
    v.special = options.special;
    auto find = [&](const char* text) -> int32_t {
        for (size_t i = 0; i < tokens.size(); ++i)
            if (tokens[i] == text) return int32_t(i);
        return -1;
    };
    if (v.special.bos < 0) v.special.bos = find("<s>");
    if (v.special.eos < 0) v.special.eos = find("</s>");
    if (v.special.unk < 0) v.special.unk = find("<unk>");
    if (options.add_bos) {
        if (v.special.bos < 0) throw InputError(where, "add_bos is set but there is no bos token");
        v.prefix_ids.push_back(v.special.bos);
    }
    if (options.add_eos) {
        if (v.special.eos < 0) throw InputError(where, "add_eos is set but there is no eos token");
        v.suffix_ids.push_back(v.special.eos);
    }
    return std::make_unique<SentencePieceBpe>(std::move(v), scores, options.add_space_prefix);
}

}  // namespace tern
