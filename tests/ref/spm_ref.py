#!/usr/bin/python3
"""SentencePiece reference for tern's SentencePiece-style BPE (tests/io).

    spm_ref.py MODEL_DIR TRAIN_TEXT --strings JSON_FILE

Trains (once; cached in MODEL_DIR) a small BPE model with byte fallback on
TRAIN_TEXT using Debian's python3-sentencepiece, then prints one JSON object:
  {"vocab": [[piece, score, gguf_type], ...], "ids": [[...], ...]}
with the ids SentencePiece itself gives each string of the JSON array. The
settings mirror Llama's tokenizer.model: identity normalisation, whitespace
kept, dummy prefix, digits split, byte fallback. Exit code 3 when the module
is missing.
"""
import json
import os
import sys

try:
    import sentencepiece as spm
except ImportError:
    sys.stderr.write("python3-sentencepiece is not installed (run scripts/setup.sh)\n")
    sys.exit(3)


def main():
    model_dir, train_text, mode, strings_file = sys.argv[1:5]
    assert mode == "--strings"
    os.makedirs(model_dir, exist_ok=True)
    prefix = os.path.join(model_dir, "tern_bpe_1000")
    if not os.path.exists(prefix + ".model"):
        spm.SentencePieceTrainer.train(
            input=train_text, model_prefix=prefix, model_type="bpe", vocab_size=1000,
            byte_fallback=True, normalization_rule_name="identity", remove_extra_whitespaces=False,
            add_dummy_prefix=True, split_digits=True, character_coverage=0.995,
            minloglevel=2, num_threads=1)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    vocab = []
    for i in range(sp.get_piece_size()):
        t = 1
        if sp.is_unknown(i): t = 2
        elif sp.is_control(i): t = 3
        elif sp.is_unused(i): t = 5
        elif sp.is_byte(i): t = 6
        vocab.append([sp.id_to_piece(i), sp.get_score(i), t])
    with open(strings_file, encoding="utf-8") as f:
        texts = json.load(f)
    ids = [sp.encode(t) for t in texts]
    json.dump({"vocab": vocab, "ids": ids}, sys.stdout, ensure_ascii=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
