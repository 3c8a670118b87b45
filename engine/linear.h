#pragma once
// The output layer's three GEMMs, each over every position of a window at once (M = steps x rows):
//
//   forward   out [M][N]  = in [M][K] * W [N][K]^T        (PyTorch's nn.Linear; bias: see losses)
//   backward  din [M][K]  = dout [M][N] * W [N][K]
//             dW  [N][K]  = dout^T * in                    (written, not accumulated)
//
// W is the f32 [N][K] in the flat parameter buffer (set_weights, once per pass).
// f32: dnnl::sgemm, which on these shapes beats oneDNN's f32 matmul primitive (brgemm) here.
// bf16: in and dout are bf16, out, din and dW f32; oneDNN matmul primitives (brgemm on
// AVX512-BF16, engine/bf16_product.h), cached per M (K and N are fixed), with the model's shared
// scratchpad. The two products that read W read it rounded to bf16 in the blocked layouts they
// chose, packed once per pass (WeightCopies); dW reads strided views of dout and in.

#include <dnnl.hpp>
#include <map>
#include <memory>

#include "engine/buffer.h"
#include "engine/model_config.h"
#include "engine/weight_copies.h"

namespace tbptt::engine {

class Linear {
 public:
  Linear(const dnnl::engine& engine, Precision precision, int K, int N);
  ~Linear();
  Linear(Linear&&) noexcept;

  // The weights of the next passes; the bf16 copies are made at their first use after this call.
  void set_weights(const float* weight);
  void forward(float* out, const void* in, int M, dnnl::stream& s, Scratchpad& scratch);
  void backward(float* din, float* dweight, const void* dout, const void* in, int M, dnnl::stream& s,
                Scratchpad& scratch);

  size_t scratchpad_bytes(int M);
  size_t weight_copy_bytes(int M);  // bf16: W in the layouts the products of M rows chose

 private:
  struct Shape;  // the bf16 primitives of one M, and the weight copies they read
  Shape& shape(int M);

  dnnl::engine engine_;
  Precision precision_;
  int K_, N_;
  std::map<int, std::unique_ptr<Shape>> shapes_;
  const float* weight_ = nullptr;
  dnnl::memory user_, user_t_;  // views of W as stored: [N][K], and read as [K][N]
  WeightCopies copies_;
};

}  // namespace tbptt::engine
