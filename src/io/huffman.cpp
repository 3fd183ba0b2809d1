#include "io/huffman.h"

#include <algorithm>
#include <queue>

#include "core/error.h"

namespace tern::io {
namespace {

// Depth of every leaf of a Huffman tree over the used symbols (count > 0).
std::vector<uint8_t> tree_depths(std::span<const uint64_t> counts, int& deepest) {
    struct Node {
        uint64_t weight;
        int32_t left, right;  // -1: a leaf
    };
    std::vector<Node> nodes;
    std::vector<uint8_t> lengths(counts.size(), 0);
    using Item = std::pair<uint64_t, int32_t>;  // (weight, node); ties broken by node index: deterministic
    std::priority_queue<Item, std::vector<Item>, std::greater<>> heap;
    std::vector<int32_t> leaf_symbol;
    for (size_t s = 0; s < counts.size(); ++s)
        if (counts[s] > 0) {
            leaf_symbol.push_back(static_cast<int32_t>(s));
            nodes.push_back({counts[s], -1, -1});
            heap.emplace(counts[s], static_cast<int32_t>(nodes.size() - 1));
        }
    deepest = 0;
    if (nodes.size() == 1) {
        lengths[leaf_symbol[0]] = 1;
        deepest = 1;
        return lengths;
    }
    while (heap.size() > 1) {
        const auto [wa, a] = heap.top();
        heap.pop();
        const auto [wb, b] = heap.top();
        heap.pop();
        nodes.push_back({wa + wb, a, b});
        heap.emplace(wa + wb, static_cast<int32_t>(nodes.size() - 1));
    }
    if (heap.empty()) return lengths;
    // Walk from the root; leaves are the first leaf_symbol.size() nodes.
    std::vector<std::pair<int32_t, int>> stack{{heap.top().second, 0}};
    while (!stack.empty()) {
        const auto [n, depth] = stack.back();
        stack.pop_back();
        if (nodes[n].left < 0) {
            lengths[leaf_symbol[n]] = static_cast<uint8_t>(std::min(depth, 255));
            deepest = std::max(deepest, depth);
        } else {
            stack.emplace_back(nodes[n].left, depth + 1);
            stack.emplace_back(nodes[n].right, depth + 1);
        }
    }
    return lengths;
}

// Canonical codes: by (length, symbol), each the previous plus one, shifted left when the length grows.
std::vector<uint32_t> canonical_codes(std::span<const uint8_t> lengths) {
    std::vector<uint32_t> order;
    for (size_t s = 0; s < lengths.size(); ++s)
        if (lengths[s]) order.push_back(static_cast<uint32_t>(s));
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return lengths[a] < lengths[b]; });
    std::vector<uint32_t> codes(lengths.size(), 0);
    uint32_t code = 0;
    int previous = 0;
    for (uint32_t s : order) {
        code <<= (lengths[s] - previous);
        previous = lengths[s];
        codes[s] = code++;
    }
    return codes;
}

void check_encodable(uint32_t symbol, std::span<const uint8_t> lengths) {
    if (symbol >= lengths.size() || lengths[symbol] == 0)
        throw Error("huffman", "symbol " + std::to_string(symbol) + " has no code");
}

}  // namespace

std::vector<uint8_t> huffman_code_lengths(std::span<const uint64_t> counts) {
    if (counts.size() > 65536) throw Error("huffman", "alphabet of more than 65536 symbols");
    std::vector<uint64_t> flattened(counts.begin(), counts.end());
    for (;;) {
        int deepest = 0;
        auto lengths = tree_depths(flattened, deepest);
        if (deepest <= kHuffmanMaxBits) return lengths;
        // Too deep (very skewed counts): halving flattens the distribution; used symbols stay used.
        for (auto& c : flattened)
            if (c > 0) c = std::max<uint64_t>(1, c / 2);
    }
}

uint64_t huffman_encoded_bits(std::span<const uint32_t> symbols, std::span<const uint8_t> lengths) {
    uint64_t bits = 0;
    for (uint32_t s : symbols) {
        check_encodable(s, lengths);
        bits += lengths[s];
    }
    return bits;
}

std::vector<uint8_t> huffman_encode(std::span<const uint32_t> symbols, std::span<const uint8_t> lengths) {
    const auto codes = canonical_codes(lengths);
    std::vector<uint8_t> out((huffman_encoded_bits(symbols, lengths) + 7) / 8, 0);
    uint64_t bit = 0;
    for (uint32_t s : symbols)
        for (int i = lengths[s] - 1; i >= 0; --i, ++bit)
            if ((codes[s] >> i) & 1u) out[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
    return out;
}

std::vector<uint32_t> huffman_decode(std::span<const uint8_t> bytes, std::span<const uint8_t> lengths, uint64_t count,
                                     const std::string& where) {
    // Kraft: sum of 2^-len <= 1, in units of 2^-kHuffmanMaxBits.
    std::vector<uint32_t> per_length(kHuffmanMaxBits + 1, 0);
    uint64_t kraft = 0;
    size_t used = 0;
    for (size_t s = 0; s < lengths.size(); ++s) {
        if (!lengths[s]) continue;
        if (lengths[s] > kHuffmanMaxBits)
            throw InputError(where, "Huffman code length " + std::to_string(lengths[s]) + " of symbol " + std::to_string(s) +
                                        " is above " + std::to_string(kHuffmanMaxBits));
        ++per_length[lengths[s]];
        kraft += uint64_t{1} << (kHuffmanMaxBits - lengths[s]);
        ++used;
    }
    if (used == 0 && count > 0) throw InputError(where, "Huffman code has no symbols but the stream holds " + std::to_string(count));
    if (kraft > (uint64_t{1} << kHuffmanMaxBits))
        throw InputError(where, "Huffman code lengths are not a prefix code (Kraft sum above 1)");
    // Every code is at least one bit: a count the stream cannot hold is refused before allocating.
    if (count > uint64_t{bytes.size()} * 8)
        throw InputError(where, "Huffman stream of " + std::to_string(bytes.size()) + " bytes cannot hold " +
                                    std::to_string(count) + " symbols (truncated)");
    int longest = 0;
    for (uint8_t l : lengths) longest = std::max<int>(longest, l);
    std::vector<uint32_t> sorted;  // symbols by (length, symbol)
    for (int len = 1; len <= kHuffmanMaxBits; ++len)
        for (size_t s = 0; s < lengths.size(); ++s)
            if (lengths[s] == len) sorted.push_back(static_cast<uint32_t>(s));
    std::vector<uint32_t> out;
    out.reserve(count);
    const uint64_t total_bits = uint64_t{bytes.size()} * 8;
    uint64_t bit = 0;
    for (uint64_t n = 0; n < count; ++n) {
        uint32_t code = 0, first = 0, index = 0;
        bool found = false;
        for (int len = 1; len <= longest; ++len) {
            if (bit >= total_bits)
                throw InputError(where, "Huffman stream ends after " + std::to_string(n) + " of " + std::to_string(count) +
                                            " symbols (truncated)");
            code |= (bytes[bit / 8] >> (7 - bit % 8)) & 1u;
            ++bit;
            if (code - first < per_length[len]) {
                out.push_back(sorted[index + (code - first)]);
                found = true;
                break;
            }
            index += per_length[len];
            first = (first + per_length[len]) << 1;
            code <<= 1;
        }
        if (!found) throw InputError(where, "Huffman stream holds a bit pattern that is no symbol's code (symbol " +
                                                std::to_string(n) + ")");
    }
    return out;
}

}  // namespace tern::io
