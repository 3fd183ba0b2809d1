#include "core/output_path.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace tern {

namespace fs = std::filesystem;

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa {}, sb {};
    if (::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    std::error_code ea, eb;
    const fs::path ca = fs::weakly_canonical(a, ea), cb = fs::weakly_canonical(b, eb);
    return !ea && !eb && ca == cb;
}

namespace {

void check_one(const std::string& path, const std::string& dir, long name_max, const std::vector<std::string>& inputs) {
    const std::string name = fs::path(path).filename().string();
    if (name.empty()) throw IoError(path, "is a folder, not a file name");
    if (static_cast<long>(name.size()) > name_max)
        throw IoError(path, "file name is " + std::to_string(name.size()) + " bytes; " + dir + " allows at most " +
                                std::to_string(name_max));
    if (path.size() >= PATH_MAX)
        throw IoError(path.substr(0, 64) + "...", "path is " + std::to_string(path.size()) + " bytes; the limit is " +
                                                      std::to_string(PATH_MAX - 1));
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw IoError(path, S_ISDIR(st.st_mode) ? "is a folder, not a file" : "exists and is not a regular file");
    for (const auto& in : inputs)
        if (!in.empty() && same_file(path, in))
            throw UsageError(path, "output would overwrite the input " + in);
}

}  // namespace

void check_output_path(const std::string& path, const std::vector<std::string>& inputs,
                       const std::vector<std::string>& sidecar_suffixes) {
    if (path.empty()) throw UsageError("output", "empty path");
    const fs::path parent = fs::path(path).parent_path();
    const std::string dir = parent.empty() ? "." : parent.string();
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
        throw IoError(path, "output folder " + dir + " does not exist (" + std::strerror(errno) + ")");
    if (!S_ISDIR(st.st_mode)) throw IoError(path, dir + " is not a folder");
    if (::access(dir.c_str(), W_OK | X_OK) != 0) throw IoError(path, "output folder " + dir + " is not writable");
    const long name_max = [&] {
        const long n = ::pathconf(dir.c_str(), _PC_NAME_MAX);
        return n > 0 ? n : long{NAME_MAX};
    }();
    check_one(path, dir, name_max, inputs);
    for (const auto& suffix : sidecar_suffixes) check_one(path + suffix, dir, name_max, inputs);
}

}  // namespace tern
