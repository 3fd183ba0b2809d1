#include "core/atomic_file_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/error.h"
#include "core/temp_file_cleanup.h"

namespace tern {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

// Gives the unnamed (O_TMPFILE) file `fd` the name `target`. Returns 0 or an
// errno; EEXIST when `target` exists, since linkat never replaces a file.
int link_unnamed(int fd, const std::string& target) {
    // The /proc path works without privileges; AT_EMPTY_PATH where /proc is absent.
    const std::string proc = "/proc/self/fd/" + std::to_string(fd);
    if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, target.c_str(), AT_SYMLINK_FOLLOW) == 0) return 0;
    const int e = errno;
    if (e == EEXIST) return e;
    if (::linkat(fd, "", AT_FDCWD, target.c_str(), AT_EMPTY_PATH) == 0) return 0;
    return errno == EEXIST ? EEXIST : e;
}

// A name for a short-lived link beside the destination; unique within this
// process, and linkat's EEXIST catches a clash with another one.
std::string sibling_temp_name(const std::string& dir) {
    static std::atomic<uint64_t> counter{0};
    return dir + "/.tern-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path, Staging staging) : path_(std::move(path)) {
    const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
    dir_ = parent.empty() ? "." : parent.string();
    if (staging == Staging::unnamed_if_supported) {
        fd_ = ::open(dir_.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
        // EOPNOTSUPP: the filesystem has no O_TMPFILE; EISDIR/EINVAL: the kernel has none.
        if (fd_ < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
            throw IoError(path_, "cannot create file: " + errno_text(errno));
    }
    if (fd_ < 0) {
        const std::string base = std::filesystem::path(path_).filename().string();
        // The temporary must fit NAME_MAX even when the destination's name nearly fills it.
        tmp_path_ = base.size() + 11 <= NAME_MAX ? path_ + ".tmp-XXXXXX" : dir_ + "/.tern-tmp-XXXXXX";
        std::vector<char> buf(tmp_path_.begin(), tmp_path_.end());
        buf.push_back('\0');
        fd_ = ::mkostemp(buf.data(), O_CLOEXEC);
        if (fd_ < 0) throw IoError(path_, "cannot create file: " + errno_text(errno));
        tmp_path_ = buf.data();
        cleanup_slot_ = register_temp_file(tmp_path_);
    }
    ::fchmod(fd_, 0644);
}

AtomicFileWriter::~AtomicFileWriter() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_ && !tmp_path_.empty()) ::unlink(tmp_path_.c_str());
    unregister_temp_file(cleanup_slot_);
}

void AtomicFileWriter::write(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (n > 0) {
        const ssize_t w = ::write(fd_, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw IoError(path_, "write failed: " + errno_text(errno));
        }
        p += w;
        n -= static_cast<size_t>(w);
        written_ += static_cast<uint64_t>(w);
    }
}

void AtomicFileWriter::write_zeros(size_t n) {
    static const uint8_t zeros[256] = {};
    while (n > 0) {
        const size_t k = n < sizeof(zeros) ? n : sizeof(zeros);
        write(zeros, k);
        n -= k;
    }
}

void AtomicFileWriter::commit() {
    if (::fsync(fd_) != 0) throw IoError(path_, "fsync failed: " + errno_text(errno));
    if (tmp_path_.empty()) commit_unnamed();
    else commit_named();
    ::close(fd_);
    fd_ = -1;
    committed_ = true;
}

std::string AtomicFileWriter::staged_path() const {
    return tmp_path_.empty() ? "/proc/self/fd/" + std::to_string(fd_) : tmp_path_;
}

void AtomicFileWriter::commit_unnamed() {
    int e = link_unnamed(fd_, path_);
    if (e == 0) return;
    if (e != EEXIST) throw IoError(path_, "cannot link the written file into place: " + errno_text(e));
    // The destination exists: link under a fresh name, then rename over it. A
    // SIGINT/SIGTERM between the two removes that name; only SIGKILL in this
    // microsecond window could strand it.
    for (int attempt = 0; attempt < 100; ++attempt) {
        const std::string tmp = sibling_temp_name(dir_);
        const int slot = register_temp_file(tmp);
        e = link_unnamed(fd_, tmp);
        if (e == 0 && ::rename(tmp.c_str(), path_.c_str()) != 0) {
            const int rename_error = errno;
            ::unlink(tmp.c_str());
            unregister_temp_file(slot);
            throw IoError(path_, "cannot rename the written file into place: " + errno_text(rename_error));
        }
        unregister_temp_file(slot);
        if (e == 0) return;
        if (e != EEXIST) throw IoError(path_, "cannot link the written file into place: " + errno_text(e));
    }
    throw IoError(path_, "cannot find a free temporary name in " + dir_);
}

void AtomicFileWriter::commit_named() {
    ::close(fd_);
    fd_ = -1;
    if (::rename(tmp_path_.c_str(), path_.c_str()) != 0)
        throw IoError(path_, "cannot rename temporary file: " + errno_text(errno));
    unregister_temp_file(cleanup_slot_);
    cleanup_slot_ = -1;
}

}  // namespace tern
