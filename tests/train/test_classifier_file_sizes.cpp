// A classifier file's tern.in_channels / tern.num_classes size the model that is
// built before its tensors are checked: out-of-range values must be one
// InputError naming the file, not a multi-gigabyte allocation (fuzz/fuzz_classifier).
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "io/io_test_util.h"
#include "nn/models/zoo.h"
#include "nn/train/model_file.h"

namespace tern::nn::train {
namespace {

void expect_rejected(const std::string& key, const std::string& value) {
    testio::TempDir dir;
    const std::string path = dir.file("c.safetensors");
    save_classifier(path, *models::make_model("lenet5", 1), {{"tern.model", "lenet5"}, {key, value}});
    try {
        load_classifier(path);
        ADD_FAILURE() << key << "=" << value << " accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("[" + path + "] bad " + key + " metadata '" + value + "'"),
                  std::string::npos)
            << e.what();
    }
}

TEST(ClassifierFileSizes, HugeZeroOrNegativeSizesAreRejected) {
    expect_rejected("tern.num_classes", "1000000000000");
    expect_rejected("tern.num_classes", "0");
    expect_rejected("tern.in_channels", "-3");
    expect_rejected("tern.in_channels", "4000000");
    expect_rejected("tern.in_channels", "two");
}

TEST(ClassifierFileSizes, StatedDefaultsStillLoad) {
    testio::TempDir dir;
    const std::string path = dir.file("c.safetensors");
    save_classifier(path, *models::make_model("lenet5", 1),
                    {{"tern.model", "lenet5"}, {"tern.in_channels", "1"}, {"tern.num_classes", "10"}});
    EXPECT_NO_THROW(load_classifier(path));
}

}  // namespace
}  // namespace tern::nn::train
