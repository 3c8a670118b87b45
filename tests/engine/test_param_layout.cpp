// The flat parameter layout: PyTorch state_dict export/import, initialisation, bad input.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "common/error.h"
#include "engine/model.h"

namespace tbptt::engine::testing {
namespace {

ModelConfig config(Cell cell, int layers = 2) {
  ModelConfig m;
  m.cell = cell, m.layers = layers, m.hidden = 6, m.vocab = 9, m.embedding = 4, m.outputs = 9;
  return m;
}

const NamedTensor& find(const std::vector<NamedTensor>& v, const std::string& name) {
  for (const auto& t : v)
    if (t.name == name) return t;
  throw std::out_of_range(name);
}

TEST(ParamLayout, ExportHasPyTorchNamesAndShapes) {
  const ModelConfig m = config(Cell::lstm);
  Model model(m, 1);
  const auto sd = model.layout().export_state_dict(model.params());
  std::vector<std::string> names;
  for (const auto& t : sd) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0",
                                             "rnn.bias_hh_l0", "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1",
                                             "rnn.bias_hh_l1", "head.weight", "head.bias"}));
  EXPECT_EQ(find(sd, "rnn.weight_ih_l0").shape, (std::vector<int>{24, 4}));
  EXPECT_EQ(find(sd, "rnn.weight_hh_l1").shape, (std::vector<int>{24, 6}));
  EXPECT_EQ(find(sd, "head.weight").shape, (std::vector<int>{9, 6}));
}

// Import(export(x)) is bit-exact for every cell (resume relies on it), and a PyTorch-style
// state_dict with both biases non-zero imports as their sum.
TEST(ParamLayout, RoundTripIsExact) {
  for (Cell cell : {Cell::lstm, Cell::gru, Cell::rnn_tanh}) {
    Model a(config(cell), 1), b(config(cell), 2);
    b.layout().import_state_dict(a.layout().export_state_dict(a.params()), b.params());
    EXPECT_EQ(0, std::memcmp(a.params().data(), b.params().data(), a.params().size_bytes())) << name(cell);
  }
}

TEST(ParamLayout, GruGatesAndBiasesMapToPyTorch) {
  const ModelConfig m = config(Cell::gru, 1);
  Model model(m, 1);
  const ParamLayout& layout = model.layout();
  const int H = 6, I = 4, G = 3;
  auto P = model.params();
  // oneDNN element (i=1, gate u=0, h=2) is PyTorch's z gate: row (1*H + 2) of weight_ih, column 1.
  P[layout.weight_ih(0).offset + (1 * G + 0) * H + 2] = 7.5f;
  P[layout.weight_ih(0).offset + (1 * G + 1) * H + 2] = -3.5f;  // reset gate: PyTorch block 0
  P[layout.bias(0).offset + 3 * H + 4] = 0.25f;                 // u' = b_hn
  const auto sd = layout.export_state_dict(P);
  EXPECT_EQ(find(sd, "rnn.weight_ih_l0").data[(1 * H + 2) * I + 1], 7.5f);
  EXPECT_EQ(find(sd, "rnn.weight_ih_l0").data[(0 * H + 2) * I + 1], -3.5f);
  EXPECT_EQ(find(sd, "rnn.bias_hh_l0").data[2 * H + 4], 0.25f);
  EXPECT_EQ(find(sd, "rnn.bias_hh_l0").data[0 * H + 4], 0.0f);
  // Importing PyTorch's two biases sums them for u and r, keeps b_in and b_hn apart.
  auto sd2 = sd;
  for (auto& t : sd2)
    if (t.name == "rnn.bias_hh_l0") std::fill(t.data.begin(), t.data.end(), 1.0f);
  Model other(m, 2);
  layout.import_state_dict(sd2, other.params());
  const float* b = other.params().data() + layout.bias(0).offset;
  EXPECT_FLOAT_EQ(b[0 * H + 4], P[layout.bias(0).offset + 0 * H + 4] + 1.0f);  // u
  EXPECT_FLOAT_EQ(b[2 * H + 4], P[layout.bias(0).offset + 2 * H + 4]);         // o = b_in only
  EXPECT_FLOAT_EQ(b[3 * H + 4], 1.0f);                                         // u' = b_hn
}

TEST(ParamLayout, ImportNamesTheBadTensor) {
  Model model(config(Cell::lstm), 1);
  auto sd = model.layout().export_state_dict(model.params());
  sd[1].shape = {3, 3};
  try {
    model.layout().import_state_dict(sd, model.params());
    FAIL() << "wrong shape accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.setting(), "state_dict.rnn.weight_ih_l0");
  }
}

// PyTorch's defaults: embedding ~ N(0, 1); rnn and head ~ U(+-1/sqrt(H)) (biases: sum of two).
TEST(ParamLayout, InitialisationFollowsPyTorchDefaults) {
  ModelConfig m = config(Cell::lstm, 1);
  m.vocab = 500, m.embedding = 64, m.outputs = 500, m.hidden = 100;
  Model model(m, 1);
  const ParamLayout& layout = model.layout();
  const TensorSlot& emb = layout.slot("embedding.weight");
  double mean = 0, var = 0;
  for (size_t i = 0; i < emb.size; ++i) mean += model.params()[emb.offset + i];
  mean /= emb.size;
  for (size_t i = 0; i < emb.size; ++i) var += std::pow(model.params()[emb.offset + i] - mean, 2);
  var /= emb.size;
  EXPECT_NEAR(mean, 0.0, 0.02);
  EXPECT_NEAR(var, 1.0, 0.03);
  const float bound = 0.1f;  // 1/sqrt(100)
  for (const char* t : {"rnn.weight_ih_l0", "rnn.weight_hh_l0", "head.weight", "head.bias"}) {
    const TensorSlot& s = layout.slot(t);
    float lo = 1, hi = -1;
    for (size_t i = 0; i < s.size; ++i) lo = std::min(lo, model.params()[s.offset + i]), hi = std::max(hi, model.params()[s.offset + i]);
    EXPECT_GE(lo, -bound) << t;
    EXPECT_LE(hi, bound) << t;
    EXPECT_LT(lo, -0.9f * bound) << t;  // the whole range is used
    EXPECT_GT(hi, 0.9f * bound) << t;
  }
  const TensorSlot& bias = layout.slot("rnn.bias_l0");
  float hi = 0;
  for (size_t i = 0; i < bias.size; ++i) hi = std::max(hi, std::abs(model.params()[bias.offset + i]));
  EXPECT_LE(hi, 2 * bound);
  EXPECT_GT(hi, bound);  // a sum of two uniforms exceeds one bound somewhere among 400 draws
}

TEST(ModelConfig, BadSettingsNameTheKey) {
  auto expect_key = [](ModelConfig m, const std::string& key) {
    try {
      m.validate();
      FAIL() << key << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.setting(), key);
    }
  };
  ModelConfig m = config(Cell::lstm);
  m.hidden = 0;
  expect_key(m, "model.hidden");
  m = config(Cell::lstm), m.layers = -1;
  expect_key(m, "model.layers");
  m = config(Cell::lstm), m.init_scale = NAN;
  expect_key(m, "model.init_scale");
}

// Through the embedding, and through a folded embedding's table, training and evaluating.
TEST(Model, TokenOutsideVocabularyIsAConfigError) {
  ModelConfig folded = config(Cell::lstm, 1);
  folded.embedding_fold = EmbeddingFold::always;
  for (const ModelConfig& m : {config(Cell::gru, 1), folded}) {
    Model model(m, 1);
    std::vector<int32_t> x = {1, 9}, y = {0, 0};  // 9 == V
    std::vector<uint8_t> has = {1, 1};
    WindowBatch w{2, 1, 0, 2, true, x.data(), nullptr, y.data(), nullptr, has.data()};
    ASSERT_EQ(m.folds_embedding(2, 1), m.cell == Cell::lstm);
    RecurrentState s = model.make_state(1);
    std::vector<float> grads(model.layout().size());
    EXPECT_THROW(model.forward(s, w), ConfigError) << name(m.cell);
    EXPECT_THROW(model.forward_backward(grads, s, w), ConfigError) << name(m.cell);
  }
}

}  // namespace
}  // namespace tbptt::engine::testing
