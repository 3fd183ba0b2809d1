#include "core/read_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace tern {

std::string read_whole_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) throw IoError(path, std::string("cannot open: ") + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) throw InputError(path, "is a directory, not a file");
    // stdio rather than a stream: read errors come back as errno, not as exceptions.
    const std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f) throw IoError(path, std::string("cannot open: ") + std::strerror(errno));
    std::string out;
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) out.append(buf, n);
    if (std::ferror(f.get())) throw IoError(path, std::string("cannot read: ") + std::strerror(errno));
    return out;
}

}  // namespace tern
