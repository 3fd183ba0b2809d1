#include "core/temp_file_cleanup.h"

#include <climits>
#include <csignal>
#include <cstring>
#include <unistd.h>

#include <atomic>
#include <mutex>

namespace tern {
namespace {

constexpr int kSlots = 64;
enum SlotState : int { kFree = 0, kFilling = 1, kArmed = 2 };

struct Slot {
    std::atomic<int> state{kFree};
    char path[PATH_MAX];
};
Slot g_slots[kSlots];
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler reads slot states");

// Async-signal-safe: atomic loads and unlink only. SA_RESETHAND restored the
// default action, so re-raising ends the process with this signal's status.
void remove_temps_and_die(int sig) {
    for (auto& s : g_slots)
        if (s.state.load() == kArmed) ::unlink(s.path);
    ::raise(sig);
}

void install_handlers() {
    for (int sig : {SIGINT, SIGTERM}) {
        struct sigaction old {};
        // An ignored signal cannot interrupt us; a program's own handler stays its own.
        if (::sigaction(sig, nullptr, &old) != 0 || (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) continue;
        struct sigaction sa {};
        sa.sa_handler = remove_temps_and_die;
        sigemptyset(&sa.sa_mask);
        sigaddset(&sa.sa_mask, SIGINT);
        sigaddset(&sa.sa_mask, SIGTERM);
        sa.sa_flags = SA_RESETHAND;
        ::sigaction(sig, &sa, nullptr);
    }
}

}  // namespace

int register_temp_file(const std::string& path) {
    static std::once_flag installed;
    std::call_once(installed, install_handlers);
    if (path.size() >= PATH_MAX) return -1;
    for (int i = 0; i < kSlots; ++i) {
        int expected = kFree;
        if (!g_slots[i].state.compare_exchange_strong(expected, kFilling)) continue;
        std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
        g_slots[i].state.store(kArmed);
        return i;
    }
    return -1;
}

void unregister_temp_file(int slot) {
    if (slot >= 0 && slot < kSlots) g_slots[slot].state.store(kFree);
}

}  // namespace tern
