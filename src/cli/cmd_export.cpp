// tern export MODEL.safetensors -o MODEL.onnx
// A classifier trained by `tern train` (models/fmnist-*.safetensors) as an
// ONNX model ONNX Runtime runs: input "image" (N, 1, 28, 28) normalised as for
// training, output "logits" (N, classes). The file appears only when complete.
// A QAT model (tern train with a "qat" section) is written as an integer-only
// QDQ model on its learned grid (interop/qat_graph.h): export, not quantize,
// because the quantization is already in the file and needs no calibration.
#include <cstdio>
#include <map>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "core/output_path.h"
#include "interop/classifier_graph.h"

namespace tern::cli {
namespace {

struct ExportCliOptions {
    std::string model;
    std::string output;
};

void run_export(const ExportCliOptions& o) {
    check_output_path(o.output, {o.model});  // refuses a missing folder or overwriting the input up front
    interop::QatGraphReport qat;
    const graph::Graph g = interop::export_classifier_onnx(o.model, o.output, &qat);
    std::map<std::string, int> ops;
    for (const auto& n : g.nodes) ++ops[n.op_type];
    std::string op_list;
    for (const auto& [op, count] : ops) op_list += (op_list.empty() ? "" : ", ") + op + " x" + std::to_string(count);
    std::printf("%s -> %s: %s, opset %lld, %zu nodes (%s), %lld parameters\n", o.model.c_str(), o.output.c_str(),
                g.name.c_str(), static_cast<long long>(g.opset), g.nodes.size(), op_list.c_str(),
                static_cast<long long>(g.parameter_count()));
    if (qat.qat)
        std::printf("QAT W%dA%d on its learned grid: %d layers DQ -> op -> Q (integer QLinearConv in tern / ONNX Runtime), "
                    "%d integer layers with a float output, %d BatchNorms folded (%d channels negated)\n",
                    qat.weight_bits, qat.act_bits, qat.qdq_layers, qat.integer_layers, qat.folded_batch_norms,
                    qat.negated_channels);
}

}  // namespace

void add_export_command(CLI::App& app) {
    auto o = std::make_shared<ExportCliOptions>();
    auto* cmd = app.add_subcommand("export", "Write a classifier trained by tern (.safetensors) as an ONNX model (a QAT one as integer-only QDQ)");
    cmd->add_option("model", o->model, "classifier written by `tern train` (.safetensors)")->required();
    cmd->add_option("-o,--output", o->output, "output .onnx")->required();
    cmd->callback([o] { run_export(*o); });
}

}  // namespace tern::cli
