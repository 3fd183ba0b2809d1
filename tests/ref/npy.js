// NumPy .npy files (format 1.0/2.0 read, 1.0 written; C order) for the
// reference runners (ort_run.js, tflite_run.js).
'use strict';
const fs = require('fs');

// {descr, shape, bytes}: bytes is a fresh, aligned copy of the array data.
function readNpy(file) {
    const buf = fs.readFileSync(file);
    if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
    const major = buf[6];
    const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
    const start = major === 1 ? 10 : 12;
    const header = buf.toString('latin1', start, start + headerLen);
    if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order is not supported`);
    const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
    const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
    const body = buf.subarray(start + headerLen);
    const bytes = new Uint8Array(body.length);
    bytes.set(body);
    return {descr, shape, bytes};
}

// Writes `data` (a typed array) as a version-1.0 .npy file of dtype `descr`.
function writeNpy(file, descr, shape, data) {
    const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
    let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
    header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
    const head = Buffer.alloc(10);
    head.write('\x93NUMPY', 0, 'latin1');
    head[6] = 1;
    head.writeUInt16LE(header.length, 8);
    const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(body)]));
}

module.exports = {readNpy, writeNpy};
