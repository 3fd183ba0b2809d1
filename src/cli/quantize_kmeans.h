#pragma once
// tern quantize CLASSIFIER.safetensors -o OUT.safetensors --method kmeans --bits B [--index-bits I] [--huffman] [--json]:
// one-shot K-means weight sharing (no training) into the compressed model file.
#include <string>

namespace tern::cli {

struct KmeansQuantizeOptions {
    std::string model, output;
    int bits = 4;
    int index_bits = 5;
    bool huffman = false;
    bool json = false;
};

void run_quantize_kmeans(const KmeansQuantizeOptions& o);

}  // namespace tern::cli
