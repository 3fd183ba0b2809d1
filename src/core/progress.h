#pragma once
// A progress bar on stderr, drawn only when stderr is a terminal (and
// TERN_NO_PROGRESS is unset), at most ~10 times a second.
#include <chrono>
#include <cstdint>
#include <string>

namespace tern {

class Progress {
public:
    Progress(std::string label, int64_t total);
    ~Progress();  // finishes the line if drawn
    void update(int64_t done, const std::string& status = "");
    void finish();
    bool enabled() const { return enabled_; }

private:
    void draw(int64_t done, const std::string& status);
    std::string label_;
    int64_t total_;
    bool enabled_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace tern
