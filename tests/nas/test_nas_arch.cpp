// nas/arch: the elastic space and architectures, their JSON and validation.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "nas/arch.h"
#include "nas/sampler.h"

using namespace tern::nas;

namespace {

std::string temp_file(const std::string& name, const std::string& text) {
    const auto p = std::filesystem::temp_directory_path() / ("tern-nas-arch-" + std::to_string(::getpid()) + "-" + name);
    std::ofstream(p) << text;
    return p.string();
}

// The error a space file gives (empty when it loads).
std::string space_error(const std::string& text) {
    const std::string path = temp_file("space.json", text);
    try {
        load_space_file(path);
    } catch (const tern::InputError& e) {
        EXPECT_EQ(e.where(), path) << "the error names the file";
        return e.detail();
    }
    return "";
}

}  // namespace

TEST(NasArch, BuiltInSpaceIsValidAndItsSmallestArchIsInIt) {
    const Space s = mobilenet_space();
    EXPECT_NO_THROW(validate_space(s, "mobilenet"));
    const Arch a = smallest_arch(s);
    EXPECT_EQ(arch_outside_space(a, s), "");
    EXPECT_EQ(a.width, 0.5);
    for (const auto& st : a.stages) {
        EXPECT_EQ(st.blocks.size(), 2u);
        for (const auto& b : st.blocks) EXPECT_EQ(b, (BlockArch{3, 3}));
    }
    // 3 widths x (9^2 + 9^3 + 9^4)^4 stages.
    EXPECT_DOUBLE_EQ(space_size(s), 3 * std::pow(81.0 + 729 + 6561, 4));
}

TEST(NasArch, JsonRoundTrip) {
    const Space s = mobilenet_space();
    tern::data::Rng rng(7);
    for (int i = 0; i < 20; ++i) {
        const Arch a = sample_arch(s, rng);
        EXPECT_EQ(parse_arch(arch_to_string(a), "t"), a);
    }
    const Space back = space_from_json(space_to_json(s), "t");
    EXPECT_EQ(space_to_json(back), space_to_json(s));
}

TEST(NasArch, HostileArchitecturesAreRefusedByField) {
    auto err = [](const std::string& text) {
        try {
            parse_arch(text, "arch.json");
        } catch (const tern::InputError& e) {
            EXPECT_EQ(e.where(), "arch.json");
            return e.detail();
        }
        return std::string();
    };
    const std::string ok = R"({"stem":16,"head":128,"width":1.0,"stages":[{"channels":16,"stride":1,"blocks":[{"kernel":3,"expansion":4}]}]})";
    EXPECT_EQ(err(ok), "");
    EXPECT_NE(err("{"), "");
    EXPECT_NE(err("[]").find("must be a JSON object"), std::string::npos);
    EXPECT_NE(err(R"({"stem":16,"head":128,"width":1.0,"stages":[]})").find("'stages': is empty"), std::string::npos);
    std::string big_kernel = ok;
    big_kernel.replace(big_kernel.find("\"kernel\":3"), 10, "\"kernel\":4");
    EXPECT_NE(err(big_kernel).find("kernel must be 1, 3, 5 or 7"), std::string::npos);
    std::string huge = ok;
    huge.replace(huge.find("\"channels\":16"), 13, "\"channels\":1000000");
    EXPECT_NE(err(huge).find("'stages[0].channels': must be in [1, 1024]"), std::string::npos);
    std::string extra = ok;
    extra.insert(1, "\"depth\":3,");
    EXPECT_NE(err(extra).find("'depth': unknown key"), std::string::npos);
    std::string width = ok;
    width.replace(width.find("\"width\":1.0"), 11, "\"width\":0");
    EXPECT_NE(err(width).find("'width': must be in"), std::string::npos);
}

TEST(NasArch, HostileSpaceFilesGiveOneErrorNamingTheFile) {
    const std::string ok = R"({"stem":8,"head":16,"stages":[{"channels":8,"stride":2,"depths":[1,2]}],
                              "kernels":[3,5],"expansions":[1,3],"widths":[0.5,1.0]})";
    EXPECT_EQ(space_error(ok), "");
    EXPECT_NE(space_error("").find("not valid JSON"), std::string::npos);
    EXPECT_NE(space_error("{}").find("'stem': missing"), std::string::npos);
    EXPECT_NE(space_error(R"({"stem":8,"head":16,"stages":[],"kernels":[3],"expansions":[1],"widths":[1]})").find("'stages': is empty"),
              std::string::npos);
    EXPECT_NE(space_error(R"({"stem":8,"head":16,"stages":[{"channels":8,"stride":1,"depths":[]}],"kernels":[3],"expansions":[1],"widths":[1]})")
                  .find("'stages[0].depths': is empty"),
              std::string::npos);
    EXPECT_NE(space_error(R"({"stem":8,"head":16,"stages":[{"channels":8,"stride":3,"depths":[1]}],"kernels":[3],"expansions":[1],"widths":[1]})")
                  .find("'stages[0].stride': must be in [1, 2]"),
              std::string::npos);
    EXPECT_NE(space_error(R"({"stem":8,"head":16,"stages":[{"channels":8,"stride":1,"depths":[1]}],"kernels":[3,3],"expansions":[1],"widths":[1]})")
                  .find("lists a choice twice"),
              std::string::npos);
    EXPECT_NE(space_error(R"({"stem":8,"head":16,"stages":[{"channels":8,"stride":1,"depths":[1]}],"kernels":[2],"expansions":[1],"widths":[1]})")
                  .find("kernel must be 1, 3, 5 or 7"),
              std::string::npos);
    EXPECT_NE(space_error(R"({"stem":8,"head":16,"stages":[{"channels":8,"stride":1,"depths":[99]}],"kernels":[3],"expansions":[1],"widths":[1]})")
                  .find("must be in [1, 8]"),
              std::string::npos);
    // A missing file is an I/O error, not a crash.
    EXPECT_THROW(load_space_file("/nonexistent/space.json"), tern::Error);
}

TEST(NasArch, ArchOutsideSpaceSaysWhy) {
    const Space s = mobilenet_space();
    Arch a = smallest_arch(s);
    a.width = 0.6;
    EXPECT_NE(arch_outside_space(a, s).find("width"), std::string::npos);
    a = smallest_arch(s);
    a.stages[1].blocks.resize(5, a.stages[1].blocks[0]);
    EXPECT_NE(arch_outside_space(a, s).find("depth 5"), std::string::npos);
}
