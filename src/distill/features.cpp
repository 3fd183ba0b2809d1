#include "distill/features.h"

#include <map>

#include "core/error.h"
#include "nn/models/lenet.h"
#include "nn/models/mobilenetv2.h"
#include "nn/ops.h"

namespace tern::distill {

using nn::Var;

namespace {

// Collects the requested points while a forward runs; `names` (when set)
// records every point in order instead.
struct Taps {
    const std::vector<std::string>* wanted = nullptr;
    std::map<std::string, Var> got;
    std::vector<std::string>* names = nullptr;
    const Var& operator()(const std::string& name, const Var& v) {
        if (names) names->push_back(name);
        if (wanted)
            for (const auto& w : *wanted)
                if (w == name) got[name] = v;
        return v;
    }
};

Var lenet5_forward(nn::models::LeNet5& m, const Var& x, Taps& tap) {
    const nn::Pool2dParams pool{2, 2, 2, 2, 0, 0};
    Var h = tap("conv1", m.conv1->forward(x));
    if (m.bn1) h = tap("bn1", m.bn1->forward(h));
    h = tap("pool1", nn::max_pool2d(nn::relu(h), pool));
    h = tap("conv2", m.conv2->forward(h));
    if (m.bn2) h = tap("bn2", m.bn2->forward(h));
    h = tap("pool2", nn::max_pool2d(nn::relu(h), pool));
    h = nn::relu(tap("fc1", m.fc1->forward(nn::flatten(h, 1))));
    h = nn::relu(tap("fc2", m.fc2->forward(h)));
    return tap("fc3", m.fc3->forward(h));
}

Var lenet300_forward(nn::models::LeNet300& m, const Var& x, Taps& tap) {
    Var h = nn::relu(tap("fc1", m.fc1->forward(nn::flatten(x, 1))));
    h = nn::relu(tap("fc2", m.fc2->forward(h)));
    return tap("fc3", m.fc3->forward(h));
}

Var mobilenet_forward(nn::models::MobileNetV2& m, const Var& x, Taps& tap) {
    Var h = tap("stem", m.stem->forward(x));
    h = nn::relu6(tap("stem_bn", m.stem_bn->forward(h)));
    for (size_t i = 0; i < m.blocks->size(); ++i) h = tap("blocks." + std::to_string(i), (*m.blocks)[i].forward(h));
    h = tap("head", m.head->forward(h));
    h = nn::relu6(tap("head_bn", m.head_bn->forward(h)));
    return tap("classifier", m.classifier->forward(nn::global_avg_pool2d(h)));
}

// Runs the model's replayed forward; false when the model is not one it knows.
bool replay(nn::UnaryModule& model, const Var& x, Taps& tap, Var& logits) {
    if (auto* m = dynamic_cast<nn::models::LeNet5*>(&model)) {
        logits = lenet5_forward(*m, x, tap);
        return true;
    }
    if (auto* m = dynamic_cast<nn::models::LeNet300*>(&model)) {
        logits = lenet300_forward(*m, x, tap);
        return true;
    }
    if (auto* m = dynamic_cast<nn::models::MobileNetV2*>(&model)) {
        logits = mobilenet_forward(*m, x, tap);
        return true;
    }
    return false;
}

}  // namespace

std::vector<std::string> feature_points(nn::UnaryModule& model) {
    std::vector<std::string> names;
    Taps tap;
    tap.names = &names;
    // A one-image forward without history, just to walk the points.
    nn::NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    Var logits;
    const bool known = replay(model, Var(Tensor::zeros({1, 1, 28, 28})), tap, logits);
    model.train(was_training);
    return known ? names : std::vector<std::string>{};
}

TappedForward forward_with_features(nn::UnaryModule& model, const Var& x, const std::vector<std::string>& points,
                                    const std::string& where) {
    TappedForward out;
    if (points.empty()) {
        out.logits = model.forward(x);
        return out;
    }
    Taps tap;
    tap.wanted = &points;
    if (!replay(model, x, tap, out.logits))
        throw InputError(where, "key 'distill.layers': feature taps are known for the zoo's lenet300, lenet5 and "
                                "mobilenetv2 models only");
    for (const auto& p : points) {
        auto it = tap.got.find(p);
        if (it == tap.got.end()) {
            std::string known;
            for (const auto& n : feature_points(model)) known += (known.empty() ? "" : ", ") + n;
            throw InputError(where, "key 'distill.layers': no point '" + p + "' in the model (known: " + known + ")");
        }
        out.features.push_back(it->second);
    }
    return out;
}

}  // namespace tern::distill
