#pragma once
// The two seeds' data: nothing to learn, only a cost to measure.
//
// random_tokens (the Keras seed): input and target of step p are independent uniform ids in
// [0, V), so the best possible loss is ln V. random_regression (the PyTorch seed): input N(0,1)^I,
// target N(0,1)^O, independent; the best possible MSE is 1.

#include <memory>

#include "data/source.h"

namespace tbptt::data {

std::unique_ptr<Source> make_random_tokens(const SourceSpec& spec);
std::unique_ptr<Source> make_random_regression(const SourceSpec& spec);

}  // namespace tbptt::data
