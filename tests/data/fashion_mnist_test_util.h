#pragma once
// The check every test that trains or evaluates on Fashion-MNIST starts with:
// without the dataset (scripts/setup.sh installs it) the test is a missing
// reference (a failure under TERN_REQUIRE_REFERENCES=1), never a silent pass.
#include <cstring>
#include <filesystem>
#include <string>

#include "io/idx.h"
#include "nn/data/image_dataset.h"
#include "ref/reference.h"

namespace tern::testdata {

inline bool have_fashion_mnist() {
    const std::string dir = data::default_fashion_mnist_dir();
    return std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz") &&
           std::filesystem::exists(dir + "/t10k-images-idx3-ubyte.gz");
}

// Fills `dir` with a Fashion-MNIST folder (for --data-dir) holding the real
// training split and only the first `n` test images: a long CLI test of a
// tiny search need not spend most of its time on 10,000 test images.
inline void write_fashion_mnist_with_test_subset(const std::string& dir, int64_t n) {
    const std::string from = data::default_fashion_mnist_dir();
    for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"})
        std::filesystem::create_symlink(from + "/" + f, dir + "/" + f);
    for (const char* f : {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
        const Tensor all = read_idx(from + "/" + f);
        Shape shape = all.shape();
        shape[0] = n;
        Tensor part = Tensor::empty(shape, all.dtype());
        std::memcpy(part.raw_data(), all.raw_data(), part.nbytes());
        write_idx(dir + "/" + f, part);
    }
}

}  // namespace tern::testdata

#define REQUIRE_FASHION()                    \
    if (!tern::testdata::have_fashion_mnist()) \
    TERN_MISSING_REFERENCE() << "dataset-fashion-mnist not installed (run scripts/setup.sh)"
