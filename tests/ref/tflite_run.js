// TFLite's own interpreter (npm @tensorflow/tfjs-tflite's wasm build of the
// TFLite C++ runtime, unpacked by scripts/setup.sh) as the reference for
// tern's TFLite importer (issue 23). Only the Emscripten module is used, not
// the TF.js wrapper, so nothing but node is needed.
//
//   node tflite_run.js MODEL.tflite OUTDIR [FILE.npy ...]
//
// Feeds the float32 .npy files (numpy format 1.0/2.0, C order) to the model's
// inputs in order, runs it once on one thread, writes output i to OUTDIR/<i>.npy
// and prints one JSON line {"outputs":[{"name":..,"file":..,"shape":[..]}]}.
'use strict';
const fs = require('fs');
const path = require('path');
const os = require('os');
const {readNpy, writeNpy} = require('./npy.js');

const wasmDir = path.join(process.env.TERN_CACHE || path.join(os.homedir(), '.cache', 'tern'),
                          'npm', 'tfjs-tflite', 'package', 'wasm');

function readNpyF32(file) {
    const {descr, bytes} = readNpy(file);
    if (descr !== '<f4') throw new Error(`${file}: float32 (<f4) expected`);
    return new Float32Array(bytes.buffer);
}

const writeNpyF32 = (file, data, shape) => writeNpy(file, '<f4', shape, data);

function toArray(vec) {
    const out = [];
    for (let i = 0; i < vec.size(); ++i) out.push(vec.get(i));
    vec.delete();
    return out;
}

async function main() {
    const args = process.argv.slice(2);
    if (args.length < 2) throw new Error('usage: node tflite_run.js MODEL.tflite OUTDIR [FILE.npy ...]');
    const [model, outDir, ...inputs] = args;
    const factory = require(path.join(wasmDir, 'tflite_web_api_cc.js'));
    const M = await factory({wasmBinary: fs.readFileSync(path.join(wasmDir, 'tflite_web_api_cc.wasm')),
                             printErr: () => {}});
    const bytes = fs.readFileSync(model);
    const ptr = M._malloc(bytes.length);
    M.HEAPU8.set(bytes, ptr);
    const created = M.TFLiteWebModelRunner.CreateFromBufferAndOptions(
        ptr, bytes.length, {numThreads: 1, enableProfiling: false, maxProfilingBufferEntries: 1024});
    if (!created.ok()) throw new Error(`TFLite refuses ${model}: ${created.errorMessage()}`);
    const runner = created.value();
    const ins = toArray(runner.GetInputs());
    if (ins.length !== inputs.length) throw new Error(`the model takes ${ins.length} inputs, ${inputs.length} given`);
    ins.forEach((info, i) => {
        if (info.dataType !== 'float32') throw new Error(`input ${info.name} is ${info.dataType}; float32 only`);
        const x = readNpyF32(inputs[i]);
        const dst = info.data();
        if (dst.length !== x.length) throw new Error(`input ${info.name} holds ${dst.length} values, ${inputs[i]} has ${x.length}`);
        dst.set(x);
    });
    if (!runner.Infer()) throw new Error('TFLite inference failed');
    fs.mkdirSync(outDir, {recursive: true});
    const report = {outputs: []};
    toArray(runner.GetOutputs()).forEach((info, i) => {
        if (info.dataType !== 'float32') throw new Error(`output ${info.name} is ${info.dataType}; float32 only`);
        const shape = info.shape.split(',').filter(s => s).map(Number);
        const file = path.join(outDir, `${i}.npy`);
        writeNpyF32(file, Float32Array.from(info.data()), shape);
        report.outputs.push({name: info.name, file, shape});
    });
    console.log(JSON.stringify(report));
}

main().catch(e => { console.error(`tflite_run: ${e.message}`); process.exit(1); });
