#include "engine/model_config.h"

#include <cmath>
#include <dnnl.hpp>

#include "common/error.h"
#include "engine/bf16.h"

namespace tbptt::engine {
namespace {

void require_positive(const char* setting, int value) {
  if (value < 1) throw ConfigError(setting, std::to_string(value), "must be an integer >= 1");
}

}  // namespace

int gates(Cell cell) {
  switch (cell) {
    case Cell::lstm: return 4;
    case Cell::gru: return 3;
    case Cell::rnn_tanh: return 1;
  }
  return 0;
}

int bias_gates(Cell cell) { return cell == Cell::gru ? 4 : gates(cell); }

const char* name(Cell cell) {
  switch (cell) {
    case Cell::lstm: return "lstm";
    case Cell::gru: return "gru";
    case Cell::rnn_tanh: return "rnn_tanh";
  }
  return "?";
}
const char* name(Head head) { return head == Head::every_step ? "every_step" : "last_step"; }
const char* name(Loss loss) { return loss == Loss::cross_entropy ? "cross_entropy" : "mse"; }
const char* name(Precision precision) { return precision == Precision::f32 ? "f32" : "bf16"; }

bool ModelConfig::folds_embedding(int T, int B) const {
  if (!token_input() || cell != Cell::lstm || lstm_kernel != LstmKernel::gemm) return false;
  if (embedding_fold != EmbeddingFold::automatic) return embedding_fold == EmbeddingFold::always;
  return 4 * int64_t{vocab} <= int64_t{T} * B;
}

void ModelConfig::validate() const {
  require_positive("model.layers", layers);
  require_positive("model.hidden", hidden);
  if (vocab < 0) throw ConfigError("data.vocab", std::to_string(vocab), "must be >= 2 for token inputs");
  if (token_input()) {
    require_positive("model.embedding", embedding);
  } else {
    require_positive("data.input_dim", input);
  }
  require_positive(loss == Loss::cross_entropy ? "data.vocab" : "data.output_dim", outputs);
  if (!(std::isfinite(init_scale) && init_scale >= 0))
    throw ConfigError("model.init_scale", std::to_string(init_scale), "must be a finite number >= 0");
  if (precision == Precision::bf16 && !cpu_supports_bf16())
    throw ConfigError("model.precision", "bf16",
                      "f32 on this CPU (bf16 training needs AVX512-BF16, which oneDNN does not find or may not use)");
}

bool cpu_supports_bf16() {
  // cpu_isa values are nested bit masks: an ISA includes another when it has all its bits.
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  return (isa & bf16) == bf16;
}

}  // namespace tbptt::engine
