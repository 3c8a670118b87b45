#pragma once
// The output layer's three GEMMs, each over every position of a window at once (M = steps x rows):
//
//   forward   out [M][N]  = in [M][K] * W [N][K]^T        (PyTorch's nn.Linear; bias: see losses)
//   backward  din [M][K]  = dout [M][N] * W [N][K]
//             dW  [N][K]  = dout^T * in                    (written, not accumulated)
//
// f32: dnnl::sgemm, which on these shapes beats oneDNN's f32 matmul primitive (brgemm) here.
// bf16: in, W and dout are bf16, out, din and dW f32; oneDNN matmul primitives (brgemm on
// AVX512-BF16), strided views of the plain row-major buffers, cached per M (K and N are fixed),
// with the model's shared scratchpad. Plain bf16 weights measured as fast as oneDNN's blocked
// layout, whose reorder costs more than it saves (bench/README.md).

#include <dnnl.hpp>
#include <map>
#include <memory>

#include "engine/buffer.h"
#include "engine/model_config.h"

namespace tbptt::engine {

class Linear {
 public:
  Linear(const dnnl::engine& engine, Precision precision, int K, int N);
  ~Linear();
  Linear(Linear&&) noexcept;

  void forward(float* out, const void* in, const void* weight, int M, dnnl::stream& s, Scratchpad& scratch);
  void backward(float* din, float* dweight, const void* dout, const void* in, const void* weight, int M,
                dnnl::stream& s, Scratchpad& scratch);

  size_t scratchpad_bytes(int M);

 private:
  struct Shape;  // the bf16 primitives of one M
  Shape& shape(int M);

  dnnl::engine engine_;
  Precision precision_;
  int K_, N_;
  std::map<int, std::unique_ptr<Shape>> shapes_;
};

}  // namespace tbptt::engine
