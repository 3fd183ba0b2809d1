#include "core/cpu_features.h"

#include <cpuid.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>

#include "core/error.h"

namespace tern {
namespace {

struct Regs {
    unsigned a = 0, b = 0, c = 0, d = 0;
};

Regs cpuid(unsigned leaf, unsigned sub = 0) {
    Regs r;
    __cpuid_count(leaf, sub, r.a, r.b, r.c, r.d);
    return r;
}

unsigned long long xgetbv0() {
    unsigned eax = 0, edx = 0;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (static_cast<unsigned long long>(edx) << 32) | eax;
}

int count_physical_cores() {
    // Distinct (physical id, core id) pairs in /proc/cpuinfo; SMT siblings share one.
    std::ifstream in("/proc/cpuinfo");
    std::set<std::pair<int, int>> cores;
    std::string line;
    int phys = 0;
    while (std::getline(in, line)) {
        auto value = [&]() { return std::atoi(line.substr(line.find(':') + 1).c_str()); };
        if (line.rfind("physical id", 0) == 0) phys = value();
        if (line.rfind("core id", 0) == 0) cores.insert({phys, value()});
    }
    const int logical = static_cast<int>(std::thread::hardware_concurrency());
    if (cores.empty()) return logical > 0 ? logical : 1;
    return static_cast<int>(cores.size());
}

CpuFeatures detect() {
    CpuFeatures f;
    Regs r0 = cpuid(0);
    char vendor[13] = {};
    std::memcpy(vendor + 0, &r0.b, 4);
    std::memcpy(vendor + 4, &r0.d, 4);
    std::memcpy(vendor + 8, &r0.c, 4);
    f.vendor = vendor;
    const unsigned max_leaf = r0.a;

    Regs r1 = cpuid(1);
    f.sse42 = r1.c & (1u << 20);
    f.fma = r1.c & (1u << 12);
    f.f16c = r1.c & (1u << 29);
    const bool osxsave = r1.c & (1u << 27);
    f.avx = r1.c & (1u << 28);
    if (osxsave) {
        const auto xcr0 = xgetbv0();
        f.os_avx = (xcr0 & 0x6) == 0x6;            // XMM + YMM state
        f.os_avx512 = (xcr0 & 0xe6) == 0xe6;       // + opmask, ZMM_Hi256, Hi16_ZMM
    }
    if (max_leaf >= 7) {
        Regs r7 = cpuid(7, 0);
        f.avx2 = r7.b & (1u << 5);
        f.bmi2 = r7.b & (1u << 8);
        f.avx512f = r7.b & (1u << 16);
        f.avx512dq = r7.b & (1u << 17);
        f.avx512bw = r7.b & (1u << 30);
        f.avx512vl = r7.b & (1u << 31);
        f.avx512vnni = r7.c & (1u << 11);
        Regs r71 = cpuid(7, 1);
        f.avx512bf16 = r71.a & (1u << 5);
        f.avx_vnni = r71.a & (1u << 4);
    }
    Regs rx = cpuid(0x80000000);
    if (rx.a >= 0x80000004) {
        char brand[49] = {};
        for (unsigned i = 0; i < 3; ++i) {
            Regs b = cpuid(0x80000002 + i);
            std::memcpy(brand + 16 * i + 0, &b.a, 4);
            std::memcpy(brand + 16 * i + 4, &b.b, 4);
            std::memcpy(brand + 16 * i + 8, &b.c, 4);
            std::memcpy(brand + 16 * i + 12, &b.d, 4);
        }
        f.brand = brand;
        while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();
    }
    f.logical_cores = static_cast<int>(std::thread::hardware_concurrency());
    if (f.logical_cores < 1) f.logical_cores = 1;
    f.physical_cores = count_physical_cores();
    if (const long l2 = ::sysconf(_SC_LEVEL2_CACHE_SIZE); l2 > 0) f.l2_cache_bytes = l2;
    return f;
}

Isa choose_active_isa() {
    const char* forced = std::getenv("TERN_ISA");
    if (!forced || !*forced) return best_supported_isa();
    Isa want;
    const std::string_view s(forced);
    if (s == "scalar") want = Isa::scalar;
    else if (s == "avx2") want = Isa::avx2;
    else if (s == "avx512") want = Isa::avx512;
    else throw UsageError("TERN_ISA", "unknown value '" + std::string(s) + "' (use scalar, avx2 or avx512)");
    if (!isa_supported(want)) {
        if (std::getenv("TERN_ISA_SKIP_UNSUPPORTED")) return best_supported_isa();
        throw UsageError("TERN_ISA", "this CPU does not support " + std::string(s));
    }
    return want;
}

}  // namespace

const CpuFeatures& cpu_features() {
    static const CpuFeatures features = detect();
    return features;
}

std::string_view isa_name(Isa isa) {
    switch (isa) {
        case Isa::scalar: return "scalar";
        case Isa::avx2: return "avx2";
        case Isa::avx512: return "avx512";
    }
    return "?";
}

bool isa_supported(Isa isa) {
    const auto& f = cpu_features();
    const bool avx2 = f.os_avx && f.avx && f.avx2 && f.fma && f.f16c && f.bmi2;
    switch (isa) {
        case Isa::scalar: return true;
        case Isa::avx2: return avx2;
        case Isa::avx512:
            return avx2 && f.os_avx512 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq &&
                   f.avx512vnni && f.avx512bf16;
    }
    return false;
}

Isa best_supported_isa() {
    if (isa_supported(Isa::avx512)) return Isa::avx512;
    if (isa_supported(Isa::avx2)) return Isa::avx2;
    return Isa::scalar;
}

Isa active_isa() {
    static const Isa isa = choose_active_isa();
    return isa;
}

}  // namespace tern
