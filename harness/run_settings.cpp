#include "harness/run_settings.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "common/error.h"

namespace tbptt::harness {
namespace {

template <class E>
E choose(const std::string& text, std::initializer_list<std::pair<const char*, E>> names) {
  for (const auto& [name, value] : names)
    if (text == name) return value;
  throw std::logic_error("the schema let through an unknown choice: " + text);
}

// The engine and the data library count in int (steps, rows, units, symbols); the schema lets
// any int64 >= its minimum through, so a value beyond int is refused here -- by name, before MPI
// starts (plan_runs) -- instead of wrapping silently (k1 = 2^32 + 5 would train with k1 = 5).
int narrow(const Run& run, const char* key) {
  const int64_t v = run.get<int64_t>(key);
  if (v > std::numeric_limits<int>::max() || v < std::numeric_limits<int>::min())
    throw ConfigError(key, std::to_string(v),
                      "at most " + std::to_string(std::numeric_limits<int>::max()) + " (counted in 32 bits)");
  return static_cast<int>(v);
}

}  // namespace

RunSettings read_settings(const Run& run) {
  using engine::Cell, engine::Head, engine::Precision;
  RunSettings s;
  s.run_id = run.run_id();
  s.seed = static_cast<uint64_t>(run.get<int64_t>("seed"));

  // data.*: every key this source reads (the schema says which apply).
  data::SourceSpec& d = s.data;
  d.source = run.get<std::string>("data.source");
  auto opt_int = [&](const char* key, auto& field) {
    if (!run.has(key)) return;
    if constexpr (std::is_same_v<std::remove_reference_t<decltype(field)>, int>) field = narrow(run, key);
    else field = run.get<int64_t>(key);
  };
  auto opt_str = [&](const char* key, std::string& field) {
    if (run.has(key)) field = run.get<std::string>(key);
  };
  opt_int("data.seed", d.seed);
  opt_int("data.length", d.length);
  opt_int("data.valid_length", d.valid_length);
  opt_int("data.test_length", d.test_length);
  opt_int("data.vocab", d.vocab);
  opt_int("data.input_dim", d.input_dim);
  opt_int("data.output_dim", d.output_dim);
  opt_int("data.alphabet", d.alphabet);
  opt_int("data.lag", d.lag);
  opt_int("data.sequence_length", d.sequence_length);
  opt_int("data.copy_length", d.copy_length);
  opt_int("data.delay", d.delay);
  opt_int("data.tau", d.tau);
  if (run.has("data.period")) d.period = run.get<double>("data.period");
  opt_str("data.path", d.path);
  opt_str("data.valid_path", d.valid_path);
  opt_str("data.test_path", d.test_path);
  opt_str("data.level", d.level);
  opt_str("data.cache", d.cache);
  opt_int("data.min_count", d.min_count);
  opt_int("data.max_vocab", d.max_vocab);
  if (run.has("data.split")) {  // a list of fractions, or (brown) the name bengio2003
    const Param split = run.params().at("data.split");
    if (std::get<std::string>(split) == "bengio2003") {
      d.split.name = "bengio2003";
    } else {
      d.split.fractions = run.get<std::vector<double>>("data.split");
    }
  }

  engine::ModelConfig& m = s.model;
  m.cell = choose<Cell>(run.get<std::string>("model.cell"), {{"lstm", Cell::lstm}, {"gru", Cell::gru}, {"rnn_tanh", Cell::rnn_tanh}});
  m.layers = narrow(run, "model.layers");
  m.hidden = narrow(run, "model.hidden");
  if (run.has("model.embedding")) m.embedding = narrow(run, "model.embedding");
  m.head = choose<Head>(run.get<std::string>("model.output"), {{"every_step", Head::every_step}, {"last_step", Head::last_step}});
  m.init_scale = run.get<double>("model.init_scale");
  m.precision = choose<Precision>(run.get<std::string>("model.precision"), {{"f32", Precision::f32}, {"bf16", Precision::bf16}});

  engine::TrainerConfig& t = s.trainer;
  t.carry_state = run.get<bool>("tbptt.carry_state");
  t.clip_grad_norm = run.get<double>("train.clip_grad_norm");
  engine::OptimizerConfig& o = t.optimizer;
  o.kind = engine::optimizer_kind(run.get<std::string>("train.optimizer.name"));
  o.lr = run.get<double>("train.optimizer.lr");
  o.weight_decay = run.get<double>("train.optimizer.weight_decay");
  if (run.has("train.optimizer.momentum")) o.momentum = run.get<double>("train.optimizer.momentum");
  if (run.has("train.optimizer.nesterov")) o.nesterov = run.get<bool>("train.optimizer.nesterov");
  if (run.has("train.optimizer.beta1")) o.beta1 = run.get<double>("train.optimizer.beta1");
  if (run.has("train.optimizer.beta2")) o.beta2 = run.get<double>("train.optimizer.beta2");
  if (run.has("train.optimizer.eps")) o.eps = run.get<double>("train.optimizer.eps");
  engine::ScheduleConfig& sc = t.schedule;
  sc.kind = engine::schedule_kind(run.get<std::string>("train.schedule.name"));
  if (run.has("train.schedule.after_epoch")) sc.after_epoch = run.get<int64_t>("train.schedule.after_epoch");
  if (run.has("train.schedule.factor")) sc.factor = run.get<double>("train.schedule.factor");
  if (run.has("train.schedule.patience")) sc.patience = run.get<int64_t>("train.schedule.patience");
  if (run.has("train.schedule.min_lr")) sc.min_lr = run.get<double>("train.schedule.min_lr");
  if (run.has("train.schedule.warmup")) sc.warmup = run.get<int64_t>("train.schedule.warmup");

  s.train.split = data::Split::train;
  s.train.batch = narrow(run, "train.batch");
  s.train.k1 = narrow(run, "tbptt.k1");
  s.train.k2 = narrow(run, "tbptt.k2");
  s.train.seq_len = run.get<int64_t>("tbptt.seq_len");
  s.train.drop_last = run.get<bool>("tbptt.drop_last");
  if (run.has("train.epochs")) s.epochs = run.get<int64_t>("train.epochs");  // absent when train.steps is set
  s.steps = run.get<int64_t>("train.steps");
  s.tokens = run.get<int64_t>("train.tokens");
  s.max_time = run.get<double>("train.max_time");

  s.eval_every = run.get<int64_t>("eval.every");
  s.eval_batch = narrow(run, "eval.batch");
  s.eval_window = narrow(run, "eval.window");
  for (const std::string& split : run.get<std::vector<std::string>>("eval.splits"))
    s.eval_splits.push_back(choose<data::Split>(split, {{"valid", data::Split::valid}, {"test", data::Split::test}}));

  s.ranks_per_run = narrow(run, "parallel.ranks_per_run");
  s.threads_per_rank = narrow(run, "parallel.threads_per_rank");
  s.checkpoint_every = run.get<int64_t>("checkpoint.every");
  s.checkpoint_keep = run.get<int64_t>("checkpoint.keep");
  s.fidelity_every = run.get<int64_t>("fidelity.every");
  s.fidelity_horizon = run.get<int64_t>("fidelity.horizon");
  s.flush_seconds = run.get<double>("results.flush_seconds");
  return s;
}

void fit_to_data(engine::ModelConfig& model, const data::Shape& shape) {
  if (shape.token_inputs) {
    model.vocab = shape.inputs;
    if (model.embedding == 0) model.embedding = model.hidden;
  } else {
    model.vocab = 0;
    model.input = shape.inputs;
  }
  model.outputs = shape.outputs;
  model.loss = shape.token_targets ? engine::Loss::cross_entropy : engine::Loss::mse;
}

bool eval_sharded(const RunSettings& s, int ranks) { return s.eval_batch % ranks == 0; }

data::WindowPlan eval_plan(const RunSettings& s, data::Split split, int rank, int ranks) {
  data::WindowPlan p;
  p.split = split;
  p.batch = s.eval_batch;
  const bool shard = eval_sharded(s, ranks);
  p.rank = shard ? rank : 0;
  p.ranks = shard ? ranks : 1;
  p.k1 = p.k2 = s.model.head == engine::Head::last_step ? s.train.k1 : s.eval_window;
  p.seq_len = s.train.seq_len;
  p.drop_last = false;
  return p;
}

int64_t planned_updates(const RunSettings& s, int64_t windows_per_epoch) {
  int64_t updates = s.steps > 0 ? s.steps : windows_per_epoch * s.epochs;
  const int64_t per_update = static_cast<int64_t>(s.train.k1) * s.train.batch;
  if (s.tokens > 0) updates = std::min(updates, (s.tokens + per_update - 1) / per_update);
  return updates;
}

int threads_for(const RunSettings& s) {
  if (s.threads_per_rank > 0) return s.threads_per_rank;
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return 1;
}

}  // namespace tbptt::harness
