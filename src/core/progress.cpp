#include "core/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace tern {

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)), total_(total < 1 ? 1 : total),
      enabled_(::isatty(STDERR_FILENO) && !std::getenv("TERN_NO_PROGRESS")),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::update(int64_t done, const std::string& status) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    draw(done, status);
}

void Progress::draw(int64_t done, const std::string& status) {
    constexpr int kWidth = 30;
    const double frac = static_cast<double>(done) / static_cast<double>(total_);
    const int filled = static_cast<int>(frac * kWidth);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r%s [%s] %3d%% %5.1fs eta %5.1fs %s\x1b[K", label_.c_str(), bar.c_str(),
                 static_cast<int>(frac * 100), elapsed, eta, status.c_str());
    std::fflush(stderr);
    drawn_ = true;
}

void Progress::finish() {
    if (drawn_) {
        std::fputc('\n', stderr);
        drawn_ = false;
    }
}

}  // namespace tern
