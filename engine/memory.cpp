// estimate_memory: what a training window needs, as reserved and as resident memory.
//
// Reserved sizes come from the layers' own queries (oneDNN's primitive descriptors). Resident
// sizes cannot: oneDNN's RNN reserves room for every variant of its algorithm and writes only part
// of it (measured here with oneDNN 2.6: f32 LSTM 48% of the workspace and 20% of the scratchpad,
// bf16 LSTM 52% of the workspace; tbptt's GEMM LSTM writes all of its own). So the resident
// fraction is measured: each layer runs one training forward and backward, then one inference
// forward, over a short window (the same B, I, H, cell and precision) on buffers whose pages are
// released first (madvise MADV_DONTNEED); mincore then counts the pages the layer wrote. Reserved
// and written bytes both grow linearly with T: the fraction carries over. They grow with B, I and
// H too, so the probe runs at most 32 rows and widths of at most 256 (the fractions differ by a
// few percent from a full-size probe), and its results are remembered:
// `tbptt plan` over a large sweep, or of a huge model, stays fast and small.

#include <omp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "engine/bf16.h"
#include "engine/model.h"

namespace tbptt::engine {
namespace {

constexpr int kProbeSteps = 16, kProbeRows = 32, kProbeWidth = 256;
constexpr size_t kPage = 4096;

// Page-aligned interior [begin, end) of a buffer: what madvise and mincore may be given.
struct Pages {
  char* begin;
  char* end;
  Pages(void* p, size_t bytes)
      : begin(reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(p) + kPage - 1) / kPage * kPage)),
        end(reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(p) + bytes) / kPage * kPage)) {
    if (end < begin) end = begin;
  }
  size_t bytes() const { return static_cast<size_t>(end - begin); }
  void release() const {
    if (bytes()) madvise(begin, bytes(), MADV_DONTNEED);  // next touch maps a fresh zero page
  }
  size_t resident() const {
    std::vector<unsigned char> in_core(bytes() / kPage);
    if (in_core.empty() || mincore(begin, bytes(), in_core.data()) != 0) return bytes();  // unknown: assume all
    return kPage * static_cast<size_t>(std::count_if(in_core.begin(), in_core.end(), [](unsigned char c) { return c & 1; }));
  }
};

struct Resident {
  double workspace = 1, scratchpad = 1, inference_scratchpad = 1;  // fractions of the reserved bytes oneDNN writes
};

// The fractions for one layer, from a kProbeSteps-step window of B rows. Windows whose reserved
// buffers span only a few pages cannot be measured to a useful precision: assume all written.
Resident probe(Cell cell, int I, int H, Precision precision, LstmKernel kernel, int B) {
  const dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  RecurrentLayer layer(cpu, cell, I, H, precision, kernel);
  const int T = kProbeSteps, G = gates(cell);
  const size_t act = precision == Precision::bf16 ? sizeof(bfloat16) : sizeof(float);
  const size_t ws_bytes = layer.workspace_bytes(T, B), pad_bytes = layer.scratchpad_bytes(T, B);
  const size_t infer_bytes = layer.scratchpad_bytes(T, B, false);
  Resident r;
  if (ws_bytes < 16 * kPage) return r;
  const size_t TB = static_cast<size_t>(T) * B, state = static_cast<size_t>(B) * H;
  std::vector<char> src(TB * I * act), dst(TB * H * act), h(4 * state * act);
  std::vector<float> dsrc(TB * I), ddst(TB * H), c(4 * state), dstate(4 * state), bias(static_cast<size_t>(bias_gates(cell)) * H);
  std::vector<float> w_ih(static_cast<size_t>(I) * G * H), w_hh(static_cast<size_t>(H) * G * H), dw_ih(w_ih.size()),
      dw_hh(w_hh.size()), dbias(bias.size());
  std::vector<char> ws(ws_bytes + kPage);
  Scratchpad pad;
  const Pages ws_pages(ws.data(), ws.size()), pad_pages(pad.get(std::max(pad_bytes, infer_bytes)), pad_bytes);
  ws_pages.release();
  pad_pages.release();
  dnnl::stream s(cpu);
  auto st = [&](int i, float* cs) { return StatePtr{h.data() + i * state * act, cs ? cs + i * state : nullptr}; };
  float* cs = cell == Cell::lstm ? c.data() : nullptr;
  float* ds = cell == Cell::lstm ? dstate.data() : nullptr;
  layer.set_weights(w_ih.data(), w_hh.data());
  layer.forward(dst.data(), st(1, cs), src.data(), st(0, cs), bias.data(), ws_pages.begin, T, B, s, pad);
  layer.backward(dsrc.data(), StatePtr{dstate.data(), ds ? ds + state : nullptr}, dw_ih.data(), dw_hh.data(),
                 dbias.data(), ddst.data(), StatePtr{dstate.data() + 2 * state, ds ? ds + 3 * state : nullptr},
                 src.data(), st(0, cs), dst.data(), st(1, cs), bias.data(), ws_pages.begin, T, B, s, pad);
  r.workspace = std::min(1.0, static_cast<double>(ws_pages.resident()) / static_cast<double>(ws_bytes));
  if (pad_pages.bytes() >= 16 * kPage)
    r.scratchpad = std::min(1.0, static_cast<double>(pad_pages.resident()) / static_cast<double>(pad_bytes));
  const Pages infer_pages(pad.get(infer_bytes), infer_bytes);  // an evaluation window: no workspace
  infer_pages.release();
  layer.forward(dst.data(), st(1, cs), src.data(), st(0, cs), bias.data(), nullptr, T, B, s, pad);
  if (infer_pages.bytes() >= 16 * kPage)
    r.inference_scratchpad = std::min(1.0, static_cast<double>(infer_pages.resident()) / static_cast<double>(infer_bytes));
  return r;
}

// probe() at (at most) the probe's size, once per process for each distinct layer.
Resident resident_fractions(Cell cell, int I, int H, Precision precision, LstmKernel kernel, int B) {
  static std::mutex mutex;
  static std::map<std::tuple<Cell, int, int, Precision, LstmKernel, int>, Resident> known;
  const auto key = std::make_tuple(cell, std::min(I, kProbeWidth), std::min(H, kProbeWidth), precision, kernel,
                                   std::min(B, kProbeRows));
  const std::lock_guard<std::mutex> lock(mutex);
  const auto it = known.find(key);
  if (it != known.end()) return it->second;
  return known[key] = probe(cell, std::get<1>(key), std::get<2>(key), precision, kernel, std::get<5>(key));
}

// One layer's oneDNN buffers for a (T, B) window, reserved and resident. Remembered: layers 1..L-1
// of a model are alike, and a sweep plans the same layer many times (creating primitive
// descriptors is what makes an estimate cost milliseconds).
struct LayerBytes {
  size_t workspace, scratchpad, weight_copies;
  double workspace_resident, scratchpad_resident, inference_scratchpad_resident;
};

LayerBytes layer_bytes(Cell cell, int I, int H, Precision precision, LstmKernel kernel, int T, int B) {
  static std::mutex mutex;
  static std::map<std::tuple<Cell, int, int, Precision, LstmKernel, int, int>, LayerBytes> known;
  const auto key = std::make_tuple(cell, I, H, precision, kernel, T, B);
  {
    const std::lock_guard<std::mutex> lock(mutex);
    const auto it = known.find(key);
    if (it != known.end()) return it->second;
  }
  const Resident r = resident_fractions(cell, I, H, precision, kernel, B);
  RecurrentLayer layer(dnnl::engine(dnnl::engine::kind::cpu, 0), cell, I, H, precision, kernel);
  LayerBytes b{layer.workspace_bytes(T, B), layer.scratchpad_bytes(T, B), layer.weight_copy_bytes(T, B), 0, 0, 0};
  b.workspace_resident = r.workspace * static_cast<double>(b.workspace);
  b.scratchpad_resident = r.scratchpad * static_cast<double>(b.scratchpad);
  b.inference_scratchpad_resident = r.inference_scratchpad * static_cast<double>(layer.scratchpad_bytes(T, B, false));
  const std::lock_guard<std::mutex> lock(mutex);
  return known[key] = b;
}

}  // namespace

MemoryEstimate estimate_memory(const ModelConfig& config, int T, int B) {
  config.validate();
  const bool bf16 = config.precision == Precision::bf16;
  const size_t act = bf16 ? sizeof(bfloat16) : sizeof(float);
  MemoryEstimate m;
  m.parameters = ParamLayout(config).size() * sizeof(float);
  const size_t TB = static_cast<size_t>(T) * B, V = config.outputs, L = config.layers, H = config.hidden;
  size_t bytes = TB * V * (sizeof(float) + (bf16 ? act : 0));             // logits (+ bf16 dlogits)
  bytes += static_cast<size_t>(omp_get_max_threads()) * V * sizeof(float);  // loss partials
  const bool fold = config.folds_embedding(T, B);
  for (size_t l = fold ? 1 : 0; l <= L; ++l) {  // a folded embedding has no X0: a table and its gradient
    const size_t width = l == 0 ? config.input_width() : H;
    bytes += TB * width * (act + sizeof(float));  // X, dX
  }
  if (fold) {
    const size_t V_in = config.vocab, E = config.embedding, G = gates(config.cell) * H;
    bytes += (2 * V_in * G + (bf16 ? V_in * E + E * G : 0)) * sizeof(float);
  }
  const size_t state = L * B * H;
  bytes += 5 * state * sizeof(float) * (config.cell == Cell::lstm ? 2 : 1) + (bf16 ? 3 * state * act : 0);
  m.activations = bytes;
  double pad_resident = 0, infer_resident = 0;
  for (int l = 0; l < config.layers; ++l) {
    const LayerBytes b =
        layer_bytes(config.cell, config.layer_input(l), config.hidden, config.precision, config.lstm_kernel, T, B);
    m.workspace += b.workspace;
    m.workspace_resident += static_cast<size_t>(b.workspace_resident);
    m.scratchpad = std::max(m.scratchpad, b.scratchpad);
    pad_resident = std::max(pad_resident, b.scratchpad_resident);
    infer_resident = std::max(infer_resident, b.inference_scratchpad_resident);
    m.weight_copies += b.weight_copies;
  }
  const dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  Linear head(cpu, config.precision, config.hidden, config.outputs);
  const size_t head_pad = head.scratchpad_bytes(static_cast<int>(TB));
  m.scratchpad = std::max(m.scratchpad, head_pad);
  m.scratchpad_resident = static_cast<size_t>(std::max(pad_resident, static_cast<double>(head_pad)));
  m.inference_scratchpad_resident = static_cast<size_t>(std::max(infer_resident, static_cast<double>(head_pad)));
  m.weight_copies += head.weight_copy_bytes(static_cast<int>(TB));
  return m;
}

}  // namespace tbptt::engine
