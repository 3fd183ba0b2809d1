#pragma once
// The model loaders read paths (they map files), so these fuzz targets write
// each input to one file in a private folder made at start-up and removed at exit.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace tern::fuzz {

class ScratchFolder {
public:
    ScratchFolder() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/tern-fuzz-load-XXXXXX";
        if (!::mkdtemp(tmpl.data())) std::abort();
        path_ = tmpl;
    }
    ~ScratchFolder() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    // Replaces file `name` with the bytes; returns its path.
    std::string write(const std::string& name, const uint8_t* data, size_t size) const {
        const std::string p = path_ + "/" + name;
        FILE* f = std::fopen(p.c_str(), "wb");
        if (!f || (size && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) std::abort();
        return p;
    }

private:
    std::string path_;
};

}  // namespace tern::fuzz
