#pragma once
// The layers around the recurrent stack, llm.c style: each a forward/backward function pair whose
// arguments are outputs, then inputs, then dimensions. Rows are positions (t, b) flattened
// time-major, so a window's [T][B][C] activations are a plain [T*B][C] matrix here. The output
// layer's GEMMs are in linear.h.

#include <cstdint>

#include "engine/bf16.h"

namespace tbptt::engine {

// Throws tbptt::ConfigError on a token outside [0, V) (the data's vocabulary does not match the
// model's): before any table is indexed with them.
void check_tokens(const int32_t* tokens, int M, int V);
// out[m][:] = weight[tokens[m]][:] for M rows of width E, in f32 or rounded to bf16; tokens checked.
template <class Out>  // float or bfloat16
void embedding_forward(Out* out, const int32_t* tokens, const float* weight, int M, int V, int E);
// dweight[tokens[m]][:] += dout[m][:] for M rows of width E (also a folded embedding's table
// gradient, from an f32 or bf16 dZ). Deterministic: threads split the E columns, not the rows.
template <class In>  // float or bfloat16
void embedding_backward(float* dweight, const In* dout, const int32_t* tokens, int M, int E);

// out[i] = bf16(in[i]) for n values (weights and dense inputs of a bf16 model).
void to_bf16(bfloat16* out, const float* in, int64_t n);

// Sums over the rows that carry a target (the loss of a window is their mean; dividing by the
// count happens after the counts of all ranks are known).
struct LossSums {
  double loss = 0;       // sum of per-target losses
  double correct = 0;    // targets whose argmax was right (cross-entropy only)
  int64_t targets = 0;   // rows that carry a target
};

// Where a training pass's loss puts its gradients (nullptr for a forward-only pass).
//   dbias     [N] = sum over rows of d(loss)/d(output): the bias is added inside the loss.
//   partials  [omp_get_max_threads()][N] scratch: each thread sums its rows, then the threads'
//             sums are added in thread order (reproducible for a thread count).
//   dout_bf16 [M][N] when set, d(loss)/d(output) is written here in bf16 (the head of a bf16
//             model); otherwise it replaces the outputs in place.
struct LossGrad {
  float* dbias = nullptr;
  float* partials = nullptr;
  bfloat16* dout_bf16 = nullptr;
};

// Softmax cross-entropy over N classes, fused with the bias add and the gradient:
// logits[m][:] += bias, loss = logsumexp - logit[target]; with `grad` the row's gradient is
// softmax - onehot (zero for rows without a target). targets[m] < 0 or has_target[m] == 0 marks
// a row without a target.
LossSums cross_entropy(float* logits, const float* bias, const int32_t* targets, const uint8_t* has_target, int M,
                       int N, const LossGrad* grad);
// Mean squared error over O outputs: per-target loss = mean_o (y_o + bias_o - target_o)^2; with
// `grad` the row's gradient is 2 (y + bias - target) / O.
LossSums mean_squared_error(float* outputs, const float* bias, const float* targets, const uint8_t* has_target,
                            int M, int O, const LossGrad* grad);

}  // namespace tbptt::engine
