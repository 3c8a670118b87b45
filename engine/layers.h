#pragma once
// The layers around the recurrent stack, llm.c style: each a forward/backward function pair whose
// arguments are outputs, then inputs, then dimensions. Rows are positions (t, b) flattened
// time-major, so a window's [T][B][C] activations are a plain [T*B][C] matrix here.

#include <cstdint>

namespace tbptt::engine {

// out[m][:] = weight[tokens[m]][:] for M rows of width E. Throws tbptt::ConfigError on a token
// outside [0, V) (the data's vocabulary does not match the model's).
void embedding_forward(float* out, const int32_t* tokens, const float* weight, int M, int V, int E);
// dweight[tokens[m]][:] += dout[m][:]. Deterministic: threads split the E columns, not the rows.
void embedding_backward(float* dweight, const float* dout, const int32_t* tokens, int M, int E);

// out[M][N] = in[M][K] * weight[N][K]^T   (PyTorch's nn.Linear; the bias is added by the loss,
// which reads every logit anyway).
void linear_forward(float* out, const float* in, const float* weight, int M, int K, int N);
// din[M][K] = dout[M][N] * weight[N][K];  dweight[N][K] = dout^T * in;  dbias[N] = sum_m dout[m].
// The head's gradients are written, not accumulated: the update need not zero them first.
void linear_backward(float* din, float* dweight, float* dbias, const float* dout, const float* in,
                     const float* weight, int M, int K, int N);

// Sums over the rows that carry a target (the loss of a window is their mean; dividing by the
// count happens after the counts of all ranks are known).
struct LossSums {
  double loss = 0;       // sum of per-target losses
  double correct = 0;    // targets whose argmax was right (cross-entropy only)
  int64_t targets = 0;   // rows that carry a target
};

// Softmax cross-entropy over N classes, fused with the bias add and the gradient:
// logits[m][:] += bias, loss = logsumexp - logit[target], and when `grad` the row becomes
// d(loss)/d(logits) = softmax - onehot in place (zero for rows without a target).
// targets[m] < 0 or has_target[m] == 0 marks a row without a target.
LossSums cross_entropy(float* logits, const float* bias, const int32_t* targets, const uint8_t* has_target,
                       int M, int N, bool grad);
// Mean squared error over O outputs: per-target loss = mean_o (y_o - target_o)^2; the rows become
// d(loss)/dy = 2 (y - target) / O in place when `grad`.
LossSums mean_squared_error(float* outputs, const float* bias, const float* targets, const uint8_t* has_target,
                            int M, int O, bool grad);

}  // namespace tbptt::engine
