// Canonical Huffman coding (io/huffman.h): round trips on random data, one
// used symbol, heavily skewed counts (the length limit), optimality against
// the entropy bound, and hostile code tables / streams refused with one error.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "io/huffman.h"

using namespace tern;

namespace {

std::vector<uint32_t> huffman_round_trip(const std::vector<uint32_t>& symbols, size_t alphabet) {
    std::vector<uint64_t> counts(alphabet, 0);
    for (uint32_t s : symbols) ++counts[s];
    const auto lengths = io::huffman_code_lengths(counts);
    const auto bytes = io::huffman_encode(symbols, lengths);
    EXPECT_EQ(bytes.size(), (io::huffman_encoded_bits(symbols, lengths) + 7) / 8);
    return io::huffman_decode(bytes, lengths, symbols.size(), "test");
}

double kraft_sum(const std::vector<uint8_t>& lengths) {
    double k = 0;
    for (uint8_t l : lengths)
        if (l) k += std::ldexp(1.0, -l);
    return k;
}

}  // namespace

TEST(Huffman, RoundTripsRandomDataOverManyAlphabets) {
    std::mt19937 rng(7);
    for (size_t alphabet : {2u, 3u, 16u, 32u, 256u}) {
        std::uniform_int_distribution<uint32_t> pick(0, static_cast<uint32_t>(alphabet - 1));
        std::vector<uint32_t> symbols(5000);
        for (auto& s : symbols) s = pick(rng);
        EXPECT_EQ(huffman_round_trip(symbols, alphabet), symbols) << alphabet;
    }
}

TEST(Huffman, OneUsedSymbolTakesOneBitEach) {
    const std::vector<uint32_t> symbols(100, 5);
    std::vector<uint64_t> counts(16, 0);
    counts[5] = 100;
    const auto lengths = io::huffman_code_lengths(counts);
    EXPECT_EQ(lengths[5], 1);
    EXPECT_EQ(io::huffman_encode(symbols, lengths).size(), 13u);
    EXPECT_EQ(huffman_round_trip(symbols, 16), symbols);
}

TEST(Huffman, SkewedCountsStayWithinTheLengthLimitAndAPrefixCode) {
    // Fibonacci counts give a maximally deep tree: 40 symbols would need 39-bit codes.
    std::vector<uint64_t> counts(40);
    counts[0] = counts[1] = 1;
    for (size_t i = 2; i < counts.size(); ++i) counts[i] = counts[i - 1] + counts[i - 2];
    const auto lengths = io::huffman_code_lengths(counts);
    for (uint8_t l : lengths) {
        EXPECT_GE(l, 1);
        EXPECT_LE(l, io::kHuffmanMaxBits);
    }
    EXPECT_LE(kraft_sum(lengths), 1.0);
    std::vector<uint32_t> symbols;
    for (uint32_t s = 0; s < 40; ++s)
        for (uint64_t n = 0; n < std::min<uint64_t>(counts[s], 50); ++n) symbols.push_back(s);
    std::shuffle(symbols.begin(), symbols.end(), std::mt19937(3));
    EXPECT_EQ(huffman_round_trip(symbols, 40), symbols);
}

TEST(Huffman, AverageLengthWithinOneBitOfTheEntropy) {
    const std::vector<uint64_t> counts{500, 250, 120, 60, 40, 20, 6, 4};
    const auto lengths = io::huffman_code_lengths(counts);
    double total = 0, bits = 0, entropy = 0;
    for (uint64_t c : counts) total += static_cast<double>(c);
    for (size_t s = 0; s < counts.size(); ++s) {
        const double p = static_cast<double>(counts[s]) / total;
        bits += p * lengths[s];
        entropy -= p * std::log2(p);
    }
    EXPECT_GE(bits, entropy);
    EXPECT_LT(bits, entropy + 1);
    EXPECT_DOUBLE_EQ(kraft_sum(lengths), 1.0);  // a full tree
}

TEST(Huffman, HostileTablesAndStreamsAreRefused) {
    auto message = [](auto&& f) {
        try {
            f();
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    const std::vector<uint8_t> bytes(4, 0x00);
    // Three 1-bit codes: Kraft sum 1.5.
    EXPECT_NE(message([&] { io::huffman_decode(bytes, std::vector<uint8_t>{1, 1, 1}, 3, "f.safetensors"); })
                  .find("not a prefix code"), std::string::npos);
    EXPECT_NE(message([&] { io::huffman_decode(bytes, std::vector<uint8_t>{1, 30}, 3, "f.safetensors"); }).find("above 24"),
              std::string::npos);
    // Codes 0 and 10 (an incomplete code): the bits 11 are no symbol.
    EXPECT_NE(message([&] { io::huffman_decode(std::vector<uint8_t>{0xC0}, std::vector<uint8_t>{1, 2}, 1, "f"); })
                  .find("no symbol's code"), std::string::npos);
    // Two 1-bit codes, 40 symbols asked of 4 bytes: more than the stream can hold.
    EXPECT_NE(message([&] { io::huffman_decode(bytes, std::vector<uint8_t>{1, 1}, 40, "f"); }).find("truncated"),
              std::string::npos);
    // 2-bit codes, 16 symbols of 4 bytes... 20 asked: the stream ends inside.
    EXPECT_NE(message([&] { io::huffman_decode(bytes, std::vector<uint8_t>{2, 2, 2, 2}, 20, "f"); }).find("ends after 16"),
              std::string::npos);
    EXPECT_NE(message([&] { io::huffman_decode(bytes, std::vector<uint8_t>{0, 0}, 2, "f"); }).find("no symbols"),
              std::string::npos);
}
