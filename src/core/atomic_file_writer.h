#pragma once
// Writes a file so that readers see either the old file or the complete new
// one, and an interrupted run (an error, Ctrl-C, SIGTERM, even SIGKILL) leaves
// nothing behind: the data goes to an unnamed O_TMPFILE inode, which the
// kernel frees when the process dies, and gets its name only in commit().
#include <cstddef>
#include <cstdint>
#include <string>

namespace tern {

class AtomicFileWriter {
public:
    // unnamed_if_supported: O_TMPFILE where the filesystem has it, else a named
    // temporary beside `path` that a SIGINT/SIGTERM handler removes (SIGKILL
    // can strand that one). named: always the fallback, for tests of it.
    enum class Staging { unnamed_if_supported, named };

    explicit AtomicFileWriter(std::string path, Staging staging = Staging::unnamed_if_supported);
    ~AtomicFileWriter();  // discards the data unless commit() ran
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    void write(const void* data, size_t n);
    void write_zeros(size_t n);
    uint64_t bytes_written() const { return written_; }
    // fsync, then the data appears under `path`, replacing any file there.
    void commit();
    bool staged_unnamed() const { return tmp_path_.empty(); }
    // A path that reads the data written so far, before commit() (the unnamed
    // file through /proc/self/fd): for checking a file before it gets its name.
    std::string staged_path() const;

private:
    void commit_unnamed();
    void commit_named();

    std::string path_;
    std::string dir_;       // the folder of path_ ("." for a bare name)
    std::string tmp_path_;  // the named temporary; empty when staged unnamed
    int fd_ = -1;
    int cleanup_slot_ = -1;  // temp_file_cleanup registration of tmp_path_
    uint64_t written_ = 0;
    bool committed_ = false;
};

}  // namespace tern
