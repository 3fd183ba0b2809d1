// A GGUF crafted with terminal escape sequences and newlines in a tensor name,
// a metadata key and a value: `tern info` and tern's error lines must show them
// escaped, with no raw control byte, each error on one line.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/cli_runner.h"
#include "core/tensor.h"
#include "io/gguf_writer.h"
#include "io/io_test_util.h"

namespace tern {
namespace {

const std::string kClear = "\x1b[2J\x1b[H";            // clear screen, cursor home
const std::string kTitle = "\x1b]0;pwned\x07";         // set the window title
const std::string kCsi8 = "\xc2\x9b" "31m";             // C1 CSI: recolour
const std::string kName = "w" + kClear + "\nFAKE LINE";  // a tensor name that splits its line

std::vector<uint8_t> hostile_gguf(const std::string& arch) {
    return io::gguf_to_bytes({{"general.architecture", io::GgufValue::of_string(arch)},
                              {"key" + kTitle + "\nFAKE KEY", io::GgufValue::of_string("v" + kCsi8 + "\nFAKE VALUE")},
                              {"tokenizer.ggml.tokens", io::GgufValue::of_strings({"\xc4\xa0the", kClear})}},
                             {{kName, Tensor::zeros({2, 8}, DType::f32)}});
}

// No raw control byte but the line ends; no C1 CSI; no line begins with the planted text.
void expect_inert(const std::string& text, const std::string& what) {
    for (size_t k = 0; k < text.size(); ++k) {
        const auto c = static_cast<unsigned char>(text[k]);
        EXPECT_TRUE(c == '\n' || (c >= 0x20 && c != 0x7f)) << what << ": raw byte " << int(c) << " at " << k;
    }
    EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos) << what;
    EXPECT_EQ(text.find("\nFAKE"), std::string::npos) << what;
}

TEST(CliHostileStrings, InfoEscapesNamesKeysAndValues) {
    testio::TempDir dir;
    const std::string path = dir.file("hostile.gguf");
    testio::write_bytes(path, hostile_gguf("llama"));
    const auto r = testcli::run_tern("info " + path);
    ASSERT_EQ(r.code, 0) << r.err;
    expect_inert(r.out, "stdout");
    EXPECT_NE(r.out.find("w\\x1b[2J\\x1b[H\\nFAKE LINE"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("key\\x1b]0;pwned\\x07\\nFAKE KEY"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\\u009b31m"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\xc4\xa0the"), std::string::npos) << r.out;  // valid UTF-8 stays readable
}

TEST(CliHostileStrings, ErrorNamingAHostileTensorIsOneLine) {
    testio::TempDir dir;
    const std::string path = dir.file("cut.gguf");
    auto bytes = hostile_gguf("llama");
    bytes.resize(bytes.size() - 4);  // the tensor's data now ends past the file
    testio::write_bytes(path, bytes);
    const auto r = testcli::run_tern("info " + path);
    EXPECT_EQ(r.code, 1);
    expect_inert(r.err, "stderr");
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    EXPECT_NE(r.err.find("w\\x1b[2J\\x1b[H\\nFAKE LINE"), std::string::npos) << r.err;
}

TEST(CliHostileStrings, ErrorQuotingAHostileArchitectureIsOneLine) {
    testio::TempDir dir;
    const std::string path = dir.file("arch.gguf");
    testio::write_bytes(path, hostile_gguf("evil" + kClear + "\nFAKE ARCH" + kCsi8));
    const auto r = testcli::run_tern("generate " + path + " --tokens 1 -n 1");
    EXPECT_EQ(r.code, 1) << r.err;
    expect_inert(r.err, "stderr");
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    EXPECT_NE(r.err.find("architecture 'evil\\x1b[2J\\x1b[H\\nFAKE ARCH\\u009b31m'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tern
