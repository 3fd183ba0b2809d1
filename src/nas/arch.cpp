#include "nas/arch.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "core/read_file.h"

namespace tern::nas {
namespace {

// Typed fields of one JSON object; anything not read is reported as unknown.
class Fields {
public:
    Fields(const Json& j, std::string path, const std::string& where) : j_(j), path_(std::move(path)), where_(where) {
        if (!j.is_object()) fail("", "must be a JSON object");
    }
    [[noreturn]] void fail(const std::string& key, const std::string& what) const {
        const std::string name = path_ + (path_.empty() || key.empty() ? "" : ".") + key;
        throw InputError(where_, (name.empty() ? "" : "'" + name + "': ") + what);
    }
    const Json& get(const std::string& key) {
        seen_.insert(key);
        auto it = j_.find(key);
        if (it == j_.end()) fail(key, "missing (required)");
        return *it;
    }
    bool has(const std::string& key) const { return j_.contains(key); }
    int64_t integer(const std::string& key, int64_t lo, int64_t hi) { return checked_int(get(key), key, lo, hi); }
    int64_t checked_int(const Json& v, const std::string& key, int64_t lo, int64_t hi) const {
        if (!v.is_number_integer()) fail(key, "must be an integer");
        const int64_t x = v.get<int64_t>();
        if (x < lo || x > hi) fail(key, format("must be in [%lld, %lld], got %lld", (long long)lo, (long long)hi, (long long)x));
        return x;
    }
    double number(const std::string& key, double lo, double hi) { return checked_number(get(key), key, lo, hi); }
    double checked_number(const Json& v, const std::string& key, double lo, double hi) const {
        if (!v.is_number()) fail(key, "must be a number");
        const double x = v.get<double>();
        if (!(x >= lo && x <= hi)) fail(key, format("must be in [%g, %g], got %g", lo, hi, x));
        return x;
    }
    const Json& array(const std::string& key, size_t most) {
        const Json& v = get(key);
        if (!v.is_array()) fail(key, "must be an array");
        if (v.empty()) fail(key, "is empty");
        if (v.size() > most) fail(key, format("has %zu entries, at most %zu allowed", v.size(), most));
        return v;
    }
    void finish() const {
        for (auto it = j_.begin(); it != j_.end(); ++it)
            if (!seen_.count(it.key())) fail(it.key(), "unknown key");
    }
    const std::string& path() const { return path_; }
    const std::string& where() const { return where_; }

private:
    const Json& j_;
    std::string path_;
    const std::string& where_;
    std::set<std::string> seen_;
};

template <class T>
std::vector<T> choice_list(Fields& f, const std::string& key, T lo, T hi) {
    const Json& v = f.array(key, 16);
    std::vector<T> out;
    for (size_t i = 0; i < v.size(); ++i) {
        const std::string name = key + "[" + std::to_string(i) + "]";
        if constexpr (std::is_integral_v<T>)
            out.push_back(f.checked_int(v[i], name, lo, hi));
        else
            out.push_back(f.checked_number(v[i], name, lo, hi));
    }
    std::vector<T> sorted = out;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) f.fail(key, "lists a choice twice");
    return sorted;
}

void check_kernel(int64_t k, const std::string& where, const std::string& name) {
    if (k != 1 && k != 3 && k != 5 && k != 7)
        throw InputError(where, "'" + name + "': kernel must be 1, 3, 5 or 7, got " + std::to_string(k));
}

template <class T>
bool contains(const std::vector<T>& v, T x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

Space mobilenet_space() {
    Space s;
    s.stem = 16;
    s.head = 128;
    s.stages = {{16, 1, {2, 3, 4}}, {24, 2, {2, 3, 4}}, {32, 2, {2, 3, 4}}, {64, 1, {2, 3, 4}}};
    s.kernels = {3, 5, 7};
    s.expansions = {3, 4, 6};
    s.widths = {0.5, 0.75, 1.0};
    return s;
}

int64_t scaled_channels(int64_t base, double width) {
    const auto c = static_cast<int64_t>(std::llround(static_cast<double>(base) * width / 4.0)) * 4;
    return std::max<int64_t>(4, c);
}

void validate_arch(const Arch& a, const std::string& where) {
    auto fail = [&](const std::string& what) { throw InputError(where, "architecture: " + what); };
    if (a.stem < 1 || a.stem > kMaxChannels || a.head < 1 || a.head > kMaxChannels)
        fail(format("stem and head channels must be in [1, %lld]", (long long)kMaxChannels));
    if (!(a.width >= kMinWidth && a.width <= kMaxWidth)) fail(format("width must be in [%g, %g]", kMinWidth, kMaxWidth));
    if (a.stages.empty() || a.stages.size() > static_cast<size_t>(kMaxStages))
        fail(format("needs 1 to %lld stages, has %zu", (long long)kMaxStages, a.stages.size()));
    for (size_t i = 0; i < a.stages.size(); ++i) {
        const StageArch& s = a.stages[i];
        const std::string name = "stages[" + std::to_string(i) + "]";
        if (s.channels < 1 || s.channels > kMaxChannels) fail(name + ": channels out of [1, 1024]");
        if (s.stride != 1 && s.stride != 2) fail(name + ": stride must be 1 or 2");
        if (s.blocks.empty() || s.blocks.size() > static_cast<size_t>(kMaxDepth))
            fail(format("%s: needs 1 to %lld blocks, has %zu", name.c_str(), (long long)kMaxDepth, s.blocks.size()));
        for (size_t b = 0; b < s.blocks.size(); ++b) {
            const std::string bn = name + ".blocks[" + std::to_string(b) + "]";
            check_kernel(s.blocks[b].kernel, where, bn);
            if (s.blocks[b].expansion < 1 || s.blocks[b].expansion > kMaxExpansion)
                fail(bn + ": expansion must be in [1, 8]");
        }
    }
}

void validate_space(const Space& s, const std::string& where) {
    // A Space is checked through the Arch bounds of its extremes and its lists.
    auto fail = [&](const std::string& what) { throw InputError(where, "search space: " + what); };
    if (s.stages.empty()) fail("has no stages");
    if (s.kernels.empty() || s.expansions.empty() || s.widths.empty()) fail("a choice list (kernels, expansions, widths) is empty");
    for (size_t i = 0; i < s.stages.size(); ++i)
        if (s.stages[i].depths.empty()) fail("stages[" + std::to_string(i) + "] allows no depth");
    Arch a = smallest_arch(s);
    validate_arch(a, where);
    for (auto& st : a.stages) st.blocks.assign(static_cast<size_t>(st.blocks.size()), BlockArch{s.kernels.back(), s.expansions.back()});
    a.width = s.widths.back();
    validate_arch(a, where);
    for (size_t i = 0; i < s.stages.size(); ++i)
        for (int64_t d : s.stages[i].depths)
            if (d < 1 || d > kMaxDepth) fail(format("stages[%zu]: depth %lld out of [1, %lld]", i, (long long)d, (long long)kMaxDepth));
    for (int64_t k : s.kernels) check_kernel(k, where, "kernels");
}

std::string arch_outside_space(const Arch& a, const Space& s) {
    if (a.stem != s.stem || a.head != s.head) return "stem or head channels differ from the space's";
    if (!contains(s.widths, a.width)) return format("width %g is not a choice", a.width);
    if (a.stages.size() != s.stages.size()) return format("has %zu stages, the space %zu", a.stages.size(), s.stages.size());
    for (size_t i = 0; i < a.stages.size(); ++i) {
        const StageArch& st = a.stages[i];
        const StageSpace& sp = s.stages[i];
        if (st.channels != sp.channels || st.stride != sp.stride) return format("stage %zu: channels or stride differ", i);
        if (!contains(sp.depths, static_cast<int64_t>(st.blocks.size()))) return format("stage %zu: depth %zu is not a choice", i, st.blocks.size());
        for (const BlockArch& b : st.blocks)
            if (!contains(s.kernels, b.kernel) || !contains(s.expansions, b.expansion))
                return format("stage %zu: kernel %lld / expansion %lld is not a choice", i, (long long)b.kernel, (long long)b.expansion);
    }
    return "";
}

Json arch_to_json(const Arch& a) {
    Json stages = Json::array();
    for (const StageArch& s : a.stages) {
        Json blocks = Json::array();
        for (const BlockArch& b : s.blocks) blocks.push_back({{"kernel", b.kernel}, {"expansion", b.expansion}});
        stages.push_back({{"channels", s.channels}, {"stride", s.stride}, {"blocks", blocks}});
    }
    return {{"stem", a.stem}, {"head", a.head}, {"width", a.width}, {"stages", stages}};
}

std::string arch_to_string(const Arch& a) { return arch_to_json(a).dump(); }

Arch arch_from_json(const Json& j, const std::string& where) {
    Fields f(j, "", where);
    Arch a;
    a.stem = f.integer("stem", 1, kMaxChannels);
    a.head = f.integer("head", 1, kMaxChannels);
    a.width = f.number("width", kMinWidth, kMaxWidth);
    const Json& stages = f.array("stages", kMaxStages);
    for (size_t i = 0; i < stages.size(); ++i) {
        Fields sf(stages[i], "stages[" + std::to_string(i) + "]", where);
        StageArch s;
        s.channels = sf.integer("channels", 1, kMaxChannels);
        s.stride = sf.integer("stride", 1, 2);
        const Json& blocks = sf.array("blocks", kMaxDepth);
        for (size_t b = 0; b < blocks.size(); ++b) {
            Fields bf(blocks[b], sf.path() + ".blocks[" + std::to_string(b) + "]", where);
            BlockArch blk;
            blk.kernel = bf.integer("kernel", 1, 7);
            blk.expansion = bf.integer("expansion", 1, kMaxExpansion);
            bf.finish();
            s.blocks.push_back(blk);
        }
        sf.finish();
        a.stages.push_back(std::move(s));
    }
    f.finish();
    validate_arch(a, where);
    return a;
}

Arch parse_arch(const std::string& text, const std::string& where) {
    Json j;
    try {
        j = Json::parse(text);
    } catch (const Json::parse_error& e) {
        throw InputError(where, std::string("architecture is not valid JSON: ") + e.what());
    }
    return arch_from_json(j, where);
}

Json space_to_json(const Space& s) {
    Json stages = Json::array();
    for (const StageSpace& st : s.stages) stages.push_back({{"channels", st.channels}, {"stride", st.stride}, {"depths", st.depths}});
    return {{"stem", s.stem}, {"head", s.head}, {"stages", stages}, {"kernels", s.kernels}, {"expansions", s.expansions},
            {"widths", s.widths}};
}

Space space_from_json(const Json& j, const std::string& where) {
    Fields f(j, "", where);
    Space s;
    s.stem = f.integer("stem", 1, kMaxChannels);
    s.head = f.integer("head", 1, kMaxChannels);
    const Json& stages = f.array("stages", kMaxStages);
    for (size_t i = 0; i < stages.size(); ++i) {
        Fields sf(stages[i], "stages[" + std::to_string(i) + "]", where);
        StageSpace st;
        st.channels = sf.integer("channels", 1, kMaxChannels);
        st.stride = sf.integer("stride", 1, 2);
        st.depths = choice_list<int64_t>(sf, "depths", 1, kMaxDepth);
        sf.finish();
        s.stages.push_back(std::move(st));
    }
    s.kernels = choice_list<int64_t>(f, "kernels", 1, 7);
    s.expansions = choice_list<int64_t>(f, "expansions", 1, kMaxExpansion);
    s.widths = choice_list<double>(f, "widths", kMinWidth, kMaxWidth);
    f.finish();
    validate_space(s, where);
    return s;
}

Space load_space_file(const std::string& path) {
    const std::string text = read_whole_file(path);
    Json j;
    try {
        j = Json::parse(text);
    } catch (const Json::parse_error& e) {
        throw InputError(path, std::string("search space is not valid JSON: ") + e.what());
    }
    return space_from_json(j, path);
}

Arch smallest_arch(const Space& s) {
    Arch a;
    a.stem = s.stem;
    a.head = s.head;
    a.width = s.widths.empty() ? 1.0 : *std::min_element(s.widths.begin(), s.widths.end());
    const BlockArch b{s.kernels.empty() ? 3 : *std::min_element(s.kernels.begin(), s.kernels.end()),
                      s.expansions.empty() ? 1 : *std::min_element(s.expansions.begin(), s.expansions.end())};
    for (const StageSpace& st : s.stages) {
        const int64_t d = st.depths.empty() ? 1 : *std::min_element(st.depths.begin(), st.depths.end());
        a.stages.push_back({st.channels, st.stride, std::vector<BlockArch>(static_cast<size_t>(d), b)});
    }
    return a;
}

}  // namespace tern::nas
