// ONNX Runtime as the graph runtime's reference and speed peer (issue 23).
//
//   node ort_run.js MODEL.onnx OUTDIR [NAME=FILE.npy ...] [--threads N] [--bench RUNS] [--no-opt]
//
// Runs MODEL once on the named .npy inputs (numpy format 1.0/2.0, C order) and
// writes every output to OUTDIR/<index>.npy; prints one JSON line
// {"outputs":[{"name":..,"file":..,"shape":[..]}], "median_ms":.., "p90_ms":..}
// (timings only with --bench: 3 warm-up runs, then RUNS timed ones).
// All graph optimizations are on (graphOptimizationLevel "all") unless --no-opt;
// intra-op threads = --threads (default 1), inter-op 1, sequential execution.
'use strict';
const fs = require('fs');
const path = require('path');
const os = require('os');
const {readNpy, writeNpy} = require('./npy.js');

const ortDir = path.join(process.env.TERN_CACHE || path.join(os.homedir(), '.cache', 'tern'),
                         'npm', 'onnxruntime', 'node_modules', 'onnxruntime-node');
const ort = require(ortDir);

const NPY_TO_ORT = {'<f4': 'float32', '<f8': 'float64', '<i8': 'int64', '<i4': 'int32', '<i2': 'int16',
                    '|i1': 'int8', '|u1': 'uint8', '|b1': 'bool', '<u2': 'uint16', '<f2': 'float16'};
const ORT_TO_NPY = Object.fromEntries(Object.entries(NPY_TO_ORT).map(([k, v]) => [v, k]));
const ARRAY = {float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array,
               int16: Int16Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array, uint16: Uint16Array,
               float16: Uint16Array};

function readTensor(file) {
    const {descr, shape, bytes} = readNpy(file);
    const type = NPY_TO_ORT[descr];
    if (!type) throw new Error(`${file}: dtype ${descr} is not supported`);
    let data = new ARRAY[type](bytes.buffer, 0, bytes.length / ARRAY[type].BYTES_PER_ELEMENT);
    if (type === 'bool') data = Uint8Array.from(data);
    return new ort.Tensor(type, data, shape);
}

function writeTensor(file, tensor) {
    const descr = ORT_TO_NPY[tensor.type];
    if (!descr) throw new Error(`output type ${tensor.type} cannot be written as .npy`);
    writeNpy(file, descr, tensor.dims, tensor.data);
}

async function main() {
    const args = process.argv.slice(2);
    if (args.length < 2) throw new Error('usage: node ort_run.js MODEL.onnx OUTDIR [NAME=FILE.npy ...] [--threads N] [--bench RUNS] [--no-opt]');
    const [model, outDir] = args;
    let threads = 1, benchRuns = 0, opt = 'all';
    const feeds = {};
    for (let i = 2; i < args.length; ++i) {
        if (args[i] === '--threads') threads = Number(args[++i]);
        else if (args[i] === '--bench') benchRuns = Number(args[++i]);
        else if (args[i] === '--no-opt') opt = 'disabled';
        else {
            const eq = args[i].indexOf('=');
            if (eq < 0) throw new Error(`bad argument ${args[i]} (want NAME=FILE.npy)`);
            feeds[args[i].slice(0, eq)] = readTensor(args[i].slice(eq + 1));
        }
    }
    const session = await ort.InferenceSession.create(model, {
        intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
        graphOptimizationLevel: opt});
    let result = await session.run(feeds);
    const report = {outputs: []};
    fs.mkdirSync(outDir, {recursive: true});
    session.outputNames.forEach((name, i) => {
        const file = path.join(outDir, `${i}.npy`);
        writeTensor(file, result[name]);
        report.outputs.push({name, file, shape: result[name].dims});
    });
    if (benchRuns > 0) {
        for (let i = 0; i < 3; ++i) await session.run(feeds);
        const ms = [];
        for (let i = 0; i < benchRuns; ++i) {
            const t0 = process.hrtime.bigint();
            result = await session.run(feeds);
            ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        ms.sort((a, b) => a - b);
        report.median_ms = ms[Math.floor((ms.length - 1) / 2)];
        report.p90_ms = ms[Math.min(ms.length - 1, Math.ceil(0.9 * ms.length) - 1)];
        report.runs = benchRuns;
        report.threads = threads;
    }
    console.log(JSON.stringify(report));
}

main().catch(e => { console.error(`ort_run: ${e.message}`); process.exit(1); });
