#pragma once
// Calibration sets, named on the command line by --calib:
//   text:train | text:validation | text:test   a split of the text corpus (io/text_corpus.h)
//   text:FILE                                  a UTF-8 text file
//   fashion-mnist:train:N | fashion-mnist:t10k:N   the first N images of a Fashion-MNIST split
// Language models see windows of C tokens, each starting with BOS (when the
// model has one), as llama.cpp's imatrix and perplexity tools cut them.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "llm/text_tokenizer.h"
#include "nn/data/image_dataset.h"

namespace tern::quant {

struct CalibSpec {
    enum class Kind { text_split, text_file, fashion_mnist };
    Kind kind = Kind::text_split;
    std::string split;   // text_split: train | validation | test; fashion_mnist: train | t10k
    std::string path;    // text_file
    int64_t images = 0;  // fashion_mnist: how many
    std::string spec;    // as given, for messages
    bool is_text() const { return kind != Kind::fashion_mnist; }
};

// UsageError naming --calib on anything else (the message lists the forms).
CalibSpec parse_calib_spec(const std::string& spec);

struct TokenWindows {
    std::vector<std::vector<int32_t>> windows;  // each at most ctx tokens; only the last may be shorter
    int64_t n_tokens = 0;                       // in all windows, BOS included
};

// Cuts exactly n_tokens tokens into windows of ctx: each window is bos (when
// bos >= 0) followed by the next text tokens. InputError naming `source` when
// the text holds too few tokens.
TokenWindows cut_token_windows(std::span<const int32_t> text_tokens, int32_t bos, int64_t n_tokens, int64_t ctx,
                               const std::string& source);

// The text a text spec names (the corpus split, or the file's bytes).
// IoError / InputError naming the file or the missing corpus.
std::string calibration_text(const CalibSpec& spec);

// Tokenizes as much of the spec's text as n_tokens needs and cuts it into
// windows (cut_token_windows).
TokenWindows calibration_token_windows(const CalibSpec& spec, const llm::TextTokenizer& tokenizer, int32_t bos,
                                       int64_t n_tokens, int64_t ctx);

// The first spec.images images of a fashion-mnist spec, normalised as training
// saw them. dir: the dataset folder (default /usr/share/datasets/fashion-mnist).
data::ImageDataset calibration_images(const CalibSpec& spec, const std::string& dir = "");

}  // namespace tern::quant
