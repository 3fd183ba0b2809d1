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

const wasmDir = path.join(process.env.TERN_CACHE || path.join(os.homedir(), '.cache', 'tern'),
                          'npm', 'tfjs-tflite', 'package', 'wasm');

function readNpyF32(file) {
    const buf = fs.readFileSync(file);
    if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
    const major = buf[6];
    const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
    const start = major === 1 ? 10 : 12;
    const header = buf.toString('latin1', start, start + headerLen);
    if (!/'descr':\s*'<f4'/.test(header)) throw new Error(`${file}: float32 (<f4) expected`);
    if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order is not supported`);
    const body = buf.subarray(start + headerLen);
    const copy = new Uint8Array(body.length);
    copy.set(body);
    return new Float32Array(copy.buffer);
}

function writeNpyF32(file, data, shape) {
    const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
    let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`;
    header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
    const head = Buffer.alloc(10);
    head.write('\x93NUMPY', 0, 'latin1');
    head[6] = 1;
    head.writeUInt16LE(header.length, 8);
    const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(body)]));
}

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
