#pragma once
// What a model is: input stage -> recurrent stack -> head -> loss.
//
// Dimensions, named once and used everywhere in the engine:
//   T  steps in a window            B  batch rows (of this rank)
//   I  input features of a layer   H  hidden units
//   G  gates of the cell            L  recurrent layers
//   V  vocabulary (token inputs, or classes of the head)
//   E  embedding width              O  outputs of a regression head

#include <cstdint>
#include <string>

namespace tbptt::engine {

enum class Cell { lstm, gru, rnn_tanh };
enum class Head { every_step, last_step };  // the head reads every step, or the last step of each window
enum class Loss { cross_entropy, mse };
enum class Precision { f32, bf16 };
// How an LSTM layer runs: on tbptt's GEMM cell (engine/gemm_lstm.h), or on oneDNN's RNN
// primitive. The two compute the same function; the choice is for tests and benchmarks that
// compare them, not a YAML setting.
enum class LstmKernel { gemm, primitive };
// Whether a token input's embedding is folded into layer 0 (engine/gemm_lstm.h, TokenRows): the
// layer reads each row's X W_ih from a [V][4H] table, the embedding times W_ih, instead of
// multiplying T*B rows by W_ih (and forming dX and dW_ih from them in backward). `automatic` folds
// where the table is the smaller product (ModelConfig::folds_embedding); the others are for tests
// and benchmarks that compare the two, not a YAML setting.
enum class EmbeddingFold { automatic, never, always };

struct ModelConfig {
  Cell cell = Cell::lstm;
  int layers = 1;        // L
  int hidden = 128;      // H
  int vocab = 0;         // V of token inputs; 0 = dense inputs of width `input`
  int embedding = 0;     // E (token inputs only)
  int input = 0;         // I of dense inputs (vocab == 0)
  int outputs = 0;       // V classes (cross_entropy) or O values (mse)
  Head head = Head::every_step;
  Loss loss = Loss::cross_entropy;
  double init_scale = 0;  // 0 = PyTorch's default init; s > 0 = uniform(-s, s) for every tensor
  Precision precision = Precision::f32;
  LstmKernel lstm_kernel = LstmKernel::gemm;
  EmbeddingFold embedding_fold = EmbeddingFold::automatic;

  bool token_input() const { return vocab > 0; }
  // Whether a window of T steps and B rows runs with the embedding folded: only an LSTM on the
  // GEMM cell can; `automatic` when 4V <= T*B. The table's three products (forward, dW_ih,
  // dEmbedding) cost V/(T*B) of the ones they replace, and the rows' copies and sums it adds in
  // their place are memory-bound passes over Z: the margin keeps the fold to windows where it pays.
  bool folds_embedding(int T, int B) const;
  int input_width() const { return token_input() ? embedding : input; }  // I of layer 0
  int layer_input(int l) const { return l == 0 ? input_width() : hidden; }

  // Throws tbptt::ConfigError naming the setting (as its YAML key) and what is allowed.
  void validate() const;
};

// Gates of the oneDNN cell (G) and bias rows (linear-before-reset GRU has one extra).
int gates(Cell cell);
int bias_gates(Cell cell);

const char* name(Cell cell);
const char* name(Head head);
const char* name(Loss loss);
const char* name(Precision precision);

}  // namespace tbptt::engine
