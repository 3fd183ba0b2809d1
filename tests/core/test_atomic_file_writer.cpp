// AtomicFileWriter leaves nothing behind however the writing process ends: an
// uncommitted writer, SIGKILL and SIGTERM mid-write (unnamed O_TMPFILE staging),
// and SIGTERM with the named fallback (its signal handler removes the file).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <csignal>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/atomic_file_writer.h"
#include "core/error.h"
#include "io/io_test_util.h"

namespace tern {
namespace {

using Staging = AtomicFileWriter::Staging;

std::set<std::string> atomic_file_writer_names_in(const std::string& dir) {
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
}

std::string read_all(const std::string& path) {
    const auto b = testio::read_bytes(path);
    return std::string(b.begin(), b.end());
}

void atomic_file_writer_write_file(const std::string& path, const std::string& text, Staging staging) {
    AtomicFileWriter w(path, staging);
    w.write(text.data(), text.size());
    w.commit();
}

TEST(AtomicFileWriter, CreatesAndReplacesLeavingOnlyTheDestination) {
    for (Staging staging : {Staging::unnamed_if_supported, Staging::named}) {
        testio::TempDir dir;
        const std::string path = dir.file("out.bin");
        {
            AtomicFileWriter w(path, staging);
            EXPECT_EQ(w.staged_unnamed(), staging == Staging::unnamed_if_supported) << "ext4 and tmpfs have O_TMPFILE";
            w.write("first", 5);
            if (w.staged_unnamed()) {
                EXPECT_TRUE(atomic_file_writer_names_in(dir.path()).empty()) << "unnamed staging is invisible";
            }
            w.commit();
        }
        EXPECT_EQ(read_all(path), "first");
        atomic_file_writer_write_file(path, "second, longer", staging);  // linkat cannot replace: the rename path
        EXPECT_EQ(read_all(path), "second, longer");
        EXPECT_EQ(atomic_file_writer_names_in(dir.path()), std::set<std::string>{"out.bin"});
        EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
                  std::filesystem::perms(0644));
    }
}

TEST(AtomicFileWriter, UncommittedWriterLeavesNothing) {
    for (Staging staging : {Staging::unnamed_if_supported, Staging::named}) {
        testio::TempDir dir;
        atomic_file_writer_write_file(dir.file("keep.bin"), "old", staging);
        {
            AtomicFileWriter w(dir.file("keep.bin"), staging);
            w.write_zeros(1000);
        }  // e.g. an exception while writing
        EXPECT_EQ(read_all(dir.file("keep.bin")), "old");
        EXPECT_EQ(atomic_file_writer_names_in(dir.path()), std::set<std::string>{"keep.bin"});
    }
}

TEST(AtomicFileWriter, NamedFallbackFitsALongDestinationName) {
    testio::TempDir dir;
    const std::string path = dir.file(std::string(250, 'n'));  // + ".tmp-XXXXXX" would pass NAME_MAX
    atomic_file_writer_write_file(path, "long", Staging::named);
    EXPECT_EQ(read_all(path), "long");
    EXPECT_EQ(atomic_file_writer_names_in(dir.path()).size(), 1u);
}

// Forks a child that starts writing `dir`/out.bin (existing or not), then is
// ended by `sig` before it commits; returns how the child ended.
int status_of_child_killed_mid_write(const std::string& dir, Staging staging, int sig) {
    int ready[2];
    if (::pipe(ready) != 0) return -1;
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(ready[0]);
        AtomicFileWriter w(dir + "/out.bin", staging);
        w.write_zeros(1 << 20);
        const char c = 1;
        if (::write(ready[1], &c, 1) != 1) ::_exit(3);
        for (;;) ::pause();  // the parent's signal ends us before commit()
    }
    ::close(ready[1]);
    char c = 0;
    const bool started = ::read(ready[0], &c, 1) == 1;
    ::close(ready[0]);
    if (started) ::kill(pid, sig);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return started ? status : -1;
}

TEST(AtomicFileWriter, KillMidWriteLeavesNothing) {
    struct Case {
        Staging staging;
        int sig;
    };
    // SIGKILL cannot be handled: only unnamed staging survives it. SIGTERM and
    // SIGINT are covered for both (the fallback's handler removes its file).
    for (const Case c : {Case{Staging::unnamed_if_supported, SIGKILL}, Case{Staging::unnamed_if_supported, SIGTERM},
                         Case{Staging::named, SIGTERM}, Case{Staging::named, SIGINT}}) {
        for (bool existing : {false, true}) {
            testio::TempDir dir;
            if (existing) atomic_file_writer_write_file(dir.file("out.bin"), "old", Staging::unnamed_if_supported);
            const int status = status_of_child_killed_mid_write(dir.path(), c.staging, c.sig);
            ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
            EXPECT_EQ(WTERMSIG(status), c.sig) << "the signal still ends the process as it would have";
            EXPECT_EQ(atomic_file_writer_names_in(dir.path()), existing ? std::set<std::string>{"out.bin"} : std::set<std::string>{})
                << "signal " << c.sig << (c.staging == Staging::named ? " named" : " unnamed");
            if (existing) {
                EXPECT_EQ(read_all(dir.file("out.bin")), "old");
            }
        }
    }
}

TEST(AtomicFileWriter, MissingFolderIsAnIoErrorNamingThePath) {
    testio::TempDir dir;
    for (Staging staging : {Staging::unnamed_if_supported, Staging::named}) {
        try {
            AtomicFileWriter w(dir.file("no/such/out.bin"), staging);
            ADD_FAILURE() << "no error";
        } catch (const IoError& e) {
            EXPECT_NE(std::string(e.what()).find("no/such/out.bin"), std::string::npos) << e.what();
        }
    }
}

}  // namespace
}  // namespace tern
