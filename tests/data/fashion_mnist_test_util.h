#pragma once
// The check every test that trains or evaluates on Fashion-MNIST starts with:
// without the dataset (scripts/setup.sh installs it) the test is a missing
// reference (a failure under TERN_REQUIRE_REFERENCES=1), never a silent pass.
#include <filesystem>
#include <string>

#include "nn/data/image_dataset.h"
#include "ref/reference.h"

namespace tern::testdata {

inline bool have_fashion_mnist() {
    const std::string dir = data::default_fashion_mnist_dir();
    return std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz") &&
           std::filesystem::exists(dir + "/t10k-images-idx3-ubyte.gz");
}

}  // namespace tern::testdata

#define REQUIRE_FASHION()                    \
    if (!tern::testdata::have_fashion_mnist()) \
    TERN_MISSING_REFERENCE() << "dataset-fashion-mnist not installed (run scripts/setup.sh)"
