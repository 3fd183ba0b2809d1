#include "nn/train/recipe.h"

#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/read_file.h"
#include "nn/models/zoo.h"

namespace tern::nn::train {
namespace {

// Reads typed values out of one JSON object, remembering the keys it has seen
// so that anything left over can be reported as unknown.
class Reader {
public:
    Reader(const Json& obj, std::string prefix, const std::string& where)
        : obj_(obj), prefix_(std::move(prefix)), where_(where) {}

    [[noreturn]] void fail(const std::string& key, const std::string& what) const {
        throw InputError(where_, "key '" + prefix_ + key + "': " + what);
    }
    const Json* find(const std::string& key, bool required) {
        seen_.insert(key);
        auto it = obj_.find(key);
        if (it == obj_.end()) {
            if (required) fail(key, "missing (required)");
            return nullptr;
        }
        return &*it;
    }
    void string(const std::string& key, std::string& out, bool required = false) {
        if (const Json* v = find(key, required)) {
            if (!v->is_string()) fail(key, "must be a string");
            out = v->get<std::string>();
        }
    }
    void boolean(const std::string& key, bool& out) {
        if (const Json* v = find(key, false)) {
            if (!v->is_boolean()) fail(key, "must be true or false");
            out = v->get<bool>();
        }
    }
    template <class T>
    void integer(const std::string& key, T& out, int64_t lo, int64_t hi, bool required = false) {
        if (const Json* v = find(key, required)) {
            if (!v->is_number_integer()) fail(key, "must be an integer");
            const int64_t x = v->get<int64_t>();
            if (x < lo || x > hi) fail(key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                                                std::to_string(x));
            out = static_cast<T>(x);
        }
    }
    template <class T>
    void number(const std::string& key, T& out, double lo, double hi, bool required = false) {
        if (const Json* v = find(key, required)) {
            if (!v->is_number()) fail(key, "must be a number");
            const double x = v->get<double>();
            if (!(x >= lo && x <= hi)) {
                std::ostringstream s;
                s << "must be in [" << lo << ", " << hi << "], got " << x;
                fail(key, s.str());
            }
            out = static_cast<T>(x);
        }
    }
    const Json& object(const std::string& key) {
        const Json* v = find(key, false);
        static const Json empty = Json::object();
        if (!v) return empty;
        if (!v->is_object()) fail(key, "must be an object");
        return *v;
    }
    void check_unknown() const {
        for (auto it = obj_.begin(); it != obj_.end(); ++it)
            if (!seen_.count(it.key())) fail(it.key(), "unknown key");
    }

private:
    const Json& obj_;
    std::string prefix_;
    const std::string& where_;
    std::set<std::string> seen_;
};

void one_of(Reader& r, const std::string& key, const std::string& value, std::initializer_list<const char*> allowed) {
    std::string list;
    for (const char* a : allowed) {
        if (value == a) return;
        list += (list.empty() ? "" : ", ") + std::string(a);
    }
    r.fail(key, "'" + value + "' is not one of: " + list);
}

// "N:M" with 0 < N < M <= 64.
void parse_pattern(Reader& p, const std::string& text, PruneRecipe& pr) {
    const auto colon = text.find(':');
    auto digits = [](const std::string& t) { return !t.empty() && t.size() <= 3 && t.find_first_not_of("0123456789") == std::string::npos; };
    const std::string n = colon == std::string::npos ? "" : text.substr(0, colon);
    const std::string m = colon == std::string::npos ? "" : text.substr(colon + 1);
    if (!digits(n) || !digits(m)) p.fail("pattern", "'" + text + "' is not N:M (e.g. 2:4)");
    pr.pattern_n = std::stoll(n);
    pr.pattern_m = std::stoll(m);
    if (pr.pattern_n < 1 || pr.pattern_m > 64 || pr.pattern_n >= pr.pattern_m)
        p.fail("pattern", "'" + text + "' needs 0 < N < M <= 64");
}

void parse_qat(const Json& qj, Recipe& rc, const std::string& where) {
    Reader q(qj, "qat.", where);
    QatRecipe& qr = rc.qat;
    rc.has_qat = true;
    q.string("method", qr.method);
    one_of(q, "method", qr.method, {"ste", "lsq", "pact"});
    q.integer("weight_bits", qr.weight_bits, 2, 8);
    q.integer("act_bits", qr.act_bits, 2, 8);
    q.boolean("per_channel", qr.per_channel);
    q.integer("calibration_batches", qr.calibration_batches, 1, 10000);
    q.integer("freeze_bn_epoch", qr.freeze_bn_epoch, 0, rc.epochs);
    q.boolean("fold_bn", qr.fold_bn);
    q.check_unknown();
}

void parse_kmeans(const Json& kj, Recipe& rc, const std::string& where) {
    Reader k(kj, "kmeans.", where);
    KmeansRecipe& kr = rc.kmeans;
    rc.has_kmeans = true;
    k.integer("bits", kr.bits, 1, 8);
    k.integer("index_bits", kr.index_bits, 1, 16);
    k.boolean("huffman", kr.huffman);
    k.check_unknown();
}

// `section`: "binary" (bwn, xnor) or "ternary" (twn, ttq).
void parse_binary(const Json& bj, const std::string& section, Recipe& rc, const std::string& where) {
    Reader b(bj, section + ".", where);
    BinaryRecipe& br = rc.binary;
    rc.has_binary = true;
    br.method = section == "binary" ? "bwn" : "twn";
    b.string("method", br.method);
    if (section == "binary") {
        one_of(b, "method", br.method, {"bwn", "xnor"});
    } else {
        one_of(b, "method", br.method, {"twn", "ttq"});
        br.threshold = br.method == "twn" ? 0.7f : 0.05f;
        // TWN's delta is a multiple of mean |w| (a Gaussian's max is ~4x it); TTQ's a fraction of max |w|.
        if (br.method == "twn")
            b.number("threshold", br.threshold, 0.01, 1.49);
        else
            b.number("threshold", br.threshold, 0.001, 0.99);
    }
    b.boolean("keep_first_last", br.keep_first_last);
    b.check_unknown();
}

void parse_prune(const Json& pj, Recipe& rc, const std::string& where) {
    Reader p(pj, "prune.", where);
    PruneRecipe& pr = rc.prune;
    rc.has_prune = true;
    p.string("method", pr.method);
    one_of(p, "method", pr.method, {"magnitude", "taylor", "obd"});
    p.string("scope", pr.scope);
    one_of(p, "scope", pr.scope, {"layer", "global"});
    p.string("schedule", pr.schedule);
    one_of(p, "schedule", pr.schedule, {"oneshot", "iterative", "agp"});
    std::string pattern;
    p.string("pattern", pattern);
    const bool has_sparsity = pj.contains("sparsity");
    if (!pattern.empty()) {
        if (has_sparsity) p.fail("pattern", "give either sparsity or pattern, not both");
        parse_pattern(p, pattern, pr);
        if (pr.schedule != "oneshot") p.fail("pattern", "an N:M pattern is pruned one-shot (schedule 'oneshot')");
        if (pr.scope != "layer") p.fail("pattern", "an N:M pattern is per row (scope 'layer')");
        pr.sparsity = 1.0 - static_cast<double>(pr.pattern_n) / static_cast<double>(pr.pattern_m);
    } else {
        if (!has_sparsity) p.fail("sparsity", "missing (give sparsity or pattern)");
        // [0, 1): pruning every weight leaves no model.
        const Json* v = p.find("sparsity", true);
        if (!v->is_number()) p.fail("sparsity", "must be a number");
        pr.sparsity = v->get<double>();
        if (!(pr.sparsity >= 0 && pr.sparsity < 1)) {
            std::ostringstream m;
            m << "must be in [0, 1), got " << pr.sparsity << " (1 would prune every weight)";
            p.fail("sparsity", m.str());
        }
    }
    p.integer("start_epoch", pr.start_epoch, 1, rc.epochs);
    pr.end_epoch = pr.start_epoch;
    if (pr.schedule != "oneshot") {
        p.integer("end_epoch", pr.end_epoch, 1, rc.epochs, true);
        if (pr.end_epoch <= pr.start_epoch)
            p.fail("end_epoch", "must be after start_epoch (" + std::to_string(pr.start_epoch) + ")");
    }
    // Rounds start at distinct epochs, each followed by fine-tuning.
    if (pr.schedule == "iterative") p.integer("rounds", pr.rounds, 1, pr.end_epoch - pr.start_epoch + 1);
    if (pr.schedule == "agp") {
        p.integer("frequency_steps", pr.frequency_steps, 1, 100000000);
        p.number("initial_sparsity", pr.initial_sparsity, 0.0, pr.sparsity);
    }
    if (pr.method != "magnitude") p.integer("calibration_batches", pr.calibration_batches, 1, 100000);
    p.check_unknown();
}

void parse_distill(const Json& dj, Recipe& rc, const std::string& where) {
    Reader d(dj, "distill.", where);
    DistillRecipe& dr = rc.distill;
    rc.has_distill = true;
    d.string("teacher", dr.teacher, true);
    if (dr.teacher.empty()) d.fail("teacher", "must name a classifier file");
    d.string("teacher_model", dr.teacher_model);
    if (!dr.teacher_model.empty() && !models::has_model(dr.teacher_model))
        d.fail("teacher_model", "unknown model '" + dr.teacher_model + "'");
    d.string("loss", dr.loss);
    one_of(d, "loss", dr.loss, {"kd", "fitnets", "attention"});
    d.number("temperature", dr.temperature, 1e-3, 1000.0);
    d.number("alpha", dr.alpha, 0.0, 1.0);
    if (dr.loss == "attention") dr.feature_weight = 1000.0f;
    if (dr.loss != "kd") d.number("feature_weight", dr.feature_weight, 0.0, 1e9);
    if (const Json* lj = d.find("layers", dr.loss != "kd")) {
        if (dr.loss == "kd") d.fail("layers", "only for loss 'fitnets' or 'attention'");
        const char* shape = "must be a non-empty array of [\"student.point\", \"teacher.point\"] pairs";
        if (!lj->is_array() || lj->empty()) d.fail("layers", shape);
        for (const auto& pair : *lj) {
            if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string())
                d.fail("layers", shape);
            dr.layers.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
            if (dr.layers.back().first.empty() || dr.layers.back().second.empty()) d.fail("layers", shape);
        }
    }
    d.check_unknown();
}

}  // namespace

namespace {
Recipe parse_recipe_checked(const std::string& text, const std::string& where);
}  // namespace

Recipe parse_recipe_json(const std::string& text, const std::string& where) {
    // Anything the JSON library rejects (syntax, numbers out of range, wrong
    // value types) is bad input too, reported like the recipe's own checks.
    try {
        return parse_recipe_checked(text, where);
    } catch (const Json::exception& e) {
        throw InputError(where, std::string("not a valid recipe: ") + e.what());
    }
}

namespace {
Recipe parse_recipe_checked(const std::string& text, const std::string& where) {
    Json j;
    try {
        j = Json::parse(text);
    } catch (const Json::parse_error& e) {
        throw InputError(where, std::string("not valid JSON: ") + e.what());
    }
    if (!j.is_object()) throw InputError(where, "a recipe must be a JSON object");
    Recipe rc;
    rc.source = where;
    Reader r(j, "", where);
    r.string("model", rc.model, true);
    r.string("data", rc.data);
    one_of(r, "data", rc.data, {"fashion-mnist", "text"});
    if (is_language_model(rc)) {
        if (rc.model != "llama") r.fail("model", "data 'text' trains model 'llama', not '" + rc.model + "'");
    } else if (!models::has_model(rc.model)) {
        std::string known;
        for (const auto& m : models::model_list()) known += (known.empty() ? "" : ", ") + m.name;
        r.fail("model", "unknown model '" + rc.model + "' (known: " + known + ")");
    }
    r.string("data_dir", rc.data_dir);
    r.integer("epochs", rc.epochs, 1, 100000, true);
    r.integer("batch_size", rc.batch_size, 1, 65536, true);
    r.integer("validation", rc.validation, 0, 1000000);
    r.integer("train_subset", rc.train_subset, 0, 100000000);
    r.integer("seed", rc.seed, 0, INT64_MAX);
    r.string("output", rc.output);
    r.string("init", rc.init);
    if (!rc.init.empty() && is_language_model(rc)) r.fail("init", "only for classifiers");
    if (rc.train_subset > 0 && rc.validation >= rc.train_subset)
        r.fail("validation", "must be smaller than train_subset (" + std::to_string(rc.train_subset) + ")");

    const Json& oj = r.object("optimizer");
    if (!j.contains("optimizer")) r.fail("optimizer", "missing (required)");
    Reader o(oj, "optimizer.", where);
    OptimizerRecipe& opt = rc.optimizer;
    o.string("name", opt.name, true);
    one_of(o, "name", opt.name, {"sgd", "adamw"});
    o.number("lr", opt.lr, 1e-9, 100.0, true);
    o.number("weight_decay", opt.weight_decay, 0.0, 10.0);
    o.number("grad_clip", opt.grad_clip, 0.0, 1e9);
    if (opt.name == "sgd") {
        o.number("momentum", opt.momentum, 0.0, 0.9999);
        o.boolean("nesterov", opt.nesterov);
        if (opt.nesterov && opt.momentum <= 0) o.fail("nesterov", "needs momentum > 0");
    } else {
        opt.weight_decay = j["optimizer"].contains("weight_decay") ? opt.weight_decay : 0.01f;  // PyTorch's default
        o.number("beta1", opt.beta1, 0.0, 0.99999);
        o.number("beta2", opt.beta2, 0.0, 0.999999);
        o.number("eps", opt.eps, 1e-20, 1.0);
    }
    o.check_unknown();

    const Json& sj = r.object("schedule");
    Reader s(sj, "schedule.", where);
    ScheduleRecipe& sch = rc.schedule;
    s.string("name", sch.name);
    one_of(s, "name", sch.name, {"cosine", "step", "constant"});
    s.number("warmup_epochs", sch.warmup_epochs, 0.0, static_cast<double>(rc.epochs));
    if (sch.name == "cosine") s.number("min_lr", sch.min_lr, 0.0, 100.0);
    if (sch.name == "step") {
        s.number("step_epochs", sch.step_epochs, 1e-3, 1e6);
        s.number("gamma", sch.gamma, 0.0, 1.0);
    }
    s.check_unknown();

    const Json& aj = r.object("augment");
    Reader a(aj, "augment.", where);
    a.integer("crop_pad", rc.augment.crop_pad, 0, 16);
    a.boolean("flip", rc.augment.flip);
    a.check_unknown();

    if (is_language_model(rc)) {
        Reader l(r.object("lm"), "lm.", where);
        LmRecipe& lm = rc.lm;
        l.integer("vocab_size", lm.vocab_size, 260, 65536);
        l.integer("dim", lm.dim, 8, 8192);
        l.integer("layers", lm.layers, 1, 256);
        l.integer("heads", lm.heads, 1, 256);
        l.integer("kv_heads", lm.kv_heads, 1, 256);
        l.integer("ffn", lm.ffn, 1, 65536);
        l.integer("context", lm.context, 4, 65536);
        l.number("rope_theta", lm.rope_theta, 1.0, 1e9);
        l.boolean("tied_embeddings", lm.tied_embeddings);
        l.integer("train_tokens", lm.train_tokens, 0, INT64_MAX);
        l.integer("eval_tokens", lm.eval_tokens, 0, INT64_MAX);
        l.string("gguf_type", lm.gguf_type);
        if (const Json* src = l.find("sources", false)) {
            if (!src->is_array() || src->empty()) l.fail("sources", "must be a non-empty array of corpus names");
            lm.sources.clear();
            for (const auto& e : *src) {
                if (!e.is_string()) l.fail("sources", "must be a non-empty array of corpus names");
                const std::string name = e.get<std::string>();
                one_of(l, "sources", name, {"sotu", "austen", "gutenberg", "moby-dick"});
                lm.sources.push_back(name);
            }
        }
        if (lm.dim % lm.heads) l.fail("heads", "must divide dim (" + std::to_string(lm.dim) + ")");
        if (lm.heads % lm.kv_heads) l.fail("kv_heads", "must divide heads (" + std::to_string(lm.heads) + ")");
        if ((lm.dim / lm.heads) % 2) l.fail("heads", "dim / heads must be even (RoPE rotates pairs)");
        l.check_unknown();
    } else if (j.contains("lm")) {
        r.fail("lm", "only for data 'text'");
    }

    if (const Json* pj = r.find("prune", false)) {
        if (is_language_model(rc)) r.fail("prune", "only for classifiers");
        if (!pj->is_object()) r.fail("prune", "must be an object");
        parse_prune(*pj, rc, where);
    }
    if (const Json* dj = r.find("distill", false)) {
        if (is_language_model(rc)) r.fail("distill", "only for classifiers (language-model distillation: distill/losses.h)");
        if (!dj->is_object()) r.fail("distill", "must be an object");
        parse_distill(*dj, rc, where);
    }

    if (const Json* qj = r.find("qat", false)) {
        if (is_language_model(rc)) r.fail("qat", "only for classifiers");
        if (!qj->is_object()) r.fail("qat", "must be an object");
        if (rc.has_prune) r.fail("qat", "cannot be combined with 'prune' in one recipe (prune first, then train QAT from it)");
        if (rc.init.empty()) r.fail("qat", "needs 'init': QAT starts from a trained fp32 model");
        parse_qat(*qj, rc, where);
    }
    for (const char* section : {"binary", "ternary"}) {
        const Json* bj = r.find(section, false);
        if (!bj) continue;
        if (is_language_model(rc)) r.fail(section, "only for classifiers");
        if (!bj->is_object()) r.fail(section, "must be an object");
        if (rc.has_binary) r.fail(section, "cannot be combined with 'binary' in one recipe (one or the other)");
        const std::string others = rc.has_qat ? "qat" : rc.has_prune ? "prune" : rc.has_distill ? "distill" : "";
        if (!others.empty()) r.fail(section, "cannot be combined with '" + others + "' in one recipe");
        if (rc.init.empty()) r.fail(section, "needs 'init': binary and ternary training start from a trained fp32 model");
        parse_binary(*bj, section, rc, where);
    }

    if (const Json* kj = r.find("kmeans", false)) {
        if (is_language_model(rc)) r.fail("kmeans", "only for classifiers");
        if (!kj->is_object()) r.fail("kmeans", "must be an object");
        if (rc.has_prune || rc.has_qat || rc.has_distill || rc.has_binary)
            r.fail("kmeans", "cannot be combined with 'prune', 'qat', 'distill', 'binary' or 'ternary' in one recipe "
                             "(prune first, then share the pruned model's weights)");
        if (rc.init.empty()) r.fail("kmeans", "needs 'init': weight sharing starts from a trained (or pruned) model");
        parse_kmeans(*kj, rc, where);
    }

    r.check_unknown();
    return rc;
}
}  // namespace

Recipe load_recipe(const std::string& path) {
    return parse_recipe_json(read_whole_file(path), path);
}

Json recipe_to_json(const Recipe& rc) {
    Json j;
    j["model"] = rc.model;
    j["data"] = rc.data;
    if (!rc.data_dir.empty()) j["data_dir"] = rc.data_dir;
    j["epochs"] = rc.epochs;
    j["batch_size"] = rc.batch_size;
    const auto& o = rc.optimizer;
    Json oj{{"name", o.name}, {"lr", o.lr}, {"weight_decay", o.weight_decay}};
    if (o.name == "sgd") {
        oj["momentum"] = o.momentum;
        oj["nesterov"] = o.nesterov;
    } else {
        oj["beta1"] = o.beta1;
        oj["beta2"] = o.beta2;
        oj["eps"] = o.eps;
    }
    if (o.grad_clip > 0) oj["grad_clip"] = o.grad_clip;
    j["optimizer"] = oj;
    const auto& s = rc.schedule;
    Json sj{{"name", s.name}, {"warmup_epochs", s.warmup_epochs}};
    if (s.name == "cosine") sj["min_lr"] = s.min_lr;
    if (s.name == "step") {
        sj["step_epochs"] = s.step_epochs;
        sj["gamma"] = s.gamma;
    }
    j["schedule"] = sj;
    j["augment"] = {{"crop_pad", rc.augment.crop_pad}, {"flip", rc.augment.flip}};
    if (is_language_model(rc)) {
        const LmRecipe& lm = rc.lm;
        j["lm"] = {{"vocab_size", lm.vocab_size}, {"dim", lm.dim},           {"layers", lm.layers},
                   {"heads", lm.heads},           {"kv_heads", lm.kv_heads}, {"ffn", lm.ffn},
                   {"context", lm.context},       {"rope_theta", lm.rope_theta},
                   {"tied_embeddings", lm.tied_embeddings}, {"sources", lm.sources},
                   {"train_tokens", lm.train_tokens}, {"eval_tokens", lm.eval_tokens}, {"gguf_type", lm.gguf_type}};
    }
    j["validation"] = rc.validation;
    if (rc.train_subset > 0) j["train_subset"] = rc.train_subset;
    j["seed"] = rc.seed;
    j["output"] = rc.output;
    if (!rc.init.empty()) j["init"] = rc.init;
    if (rc.has_prune) {
        const PruneRecipe& p = rc.prune;
        Json pj{{"method", p.method}, {"scope", p.scope}, {"schedule", p.schedule}, {"start_epoch", p.start_epoch}};
        if (p.pattern_m > 0)
            pj["pattern"] = std::to_string(p.pattern_n) + ":" + std::to_string(p.pattern_m);
        else
            pj["sparsity"] = p.sparsity;
        if (p.schedule != "oneshot") pj["end_epoch"] = p.end_epoch;
        if (p.schedule == "iterative") pj["rounds"] = p.rounds;
        if (p.schedule == "agp") {
            pj["frequency_steps"] = p.frequency_steps;
            pj["initial_sparsity"] = p.initial_sparsity;
        }
        if (p.method != "magnitude") pj["calibration_batches"] = p.calibration_batches;
        j["prune"] = pj;
    }
    if (rc.has_distill) {
        const DistillRecipe& d = rc.distill;
        Json dj{{"teacher", d.teacher}, {"loss", d.loss}, {"temperature", d.temperature}, {"alpha", d.alpha}};
        if (!d.teacher_model.empty()) dj["teacher_model"] = d.teacher_model;
        if (d.loss != "kd") {
            dj["feature_weight"] = d.feature_weight;
            Json layers = Json::array();
            for (const auto& [s, t] : d.layers) layers.push_back({s, t});
            dj["layers"] = layers;
        }
        j["distill"] = dj;
    }
    if (rc.has_qat) {
        const QatRecipe& q = rc.qat;
        j["qat"] = {{"method", q.method},           {"weight_bits", q.weight_bits},
                    {"act_bits", q.act_bits},       {"per_channel", q.per_channel},
                    {"calibration_batches", q.calibration_batches}, {"freeze_bn_epoch", q.freeze_bn_epoch}};
        if (q.fold_bn) j["qat"]["fold_bn"] = true;
    }
    if (rc.has_kmeans)
        j["kmeans"] = {{"bits", rc.kmeans.bits}, {"index_bits", rc.kmeans.index_bits}, {"huffman", rc.kmeans.huffman}};
    if (rc.has_binary) {
        const BinaryRecipe& b = rc.binary;
        const bool ternary = b.method == "twn" || b.method == "ttq";
        Json bj{{"method", b.method}, {"keep_first_last", b.keep_first_last}};
        if (ternary) bj["threshold"] = b.threshold;
        j[ternary ? "ternary" : "binary"] = bj;
    }
    return j;
}

}  // namespace tern::nn::train
