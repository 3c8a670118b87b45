// Good experiments: defaults, sweep expansion, run ids, --set, locations, typed access.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "harness/config/experiment.h"
#include "harness/config/source_tree.h"
#include "harness/config/spec.h"
#include "harness/config/sweep.h"

namespace tbptt::harness {
namespace {

using ResolvedRun = Run;  // inside a TEST body, plain `Run` would name testing::Test::Run

// The five-line experiment of the issue.
const char* kFiveLines =
    "name: demo\n"
    "data: {source: delayed_recall}\n"
    "model: {cell: gru}\n"
    "tbptt: {k1: 10}\n"
    "train: {epochs: 2}\n";

Experiment parse(const std::string& text, const std::vector<std::string>& sets = {}) {
  return Experiment::parse(text, "exp.yaml", sets);
}

std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  try {
    parse(text, sets);
  } catch (const ExperimentError& e) {
    return e.what();
  }
  return "(accepted)";
}

std::string id_of(const std::string& text) { return parse(text).run(0).run_id(); }

TEST(Defaults, FiveLineFileResolvesWithTheDocumentedDefaults) {
  const Experiment exp = parse(kFiveLines);
  ASSERT_EQ(exp.size(), 1u);
  EXPECT_EQ(exp.name(), "demo");
  const ResolvedRun run = exp.run(0);
  // as written
  EXPECT_EQ(run.get<std::string>("model.cell"), "gru");
  EXPECT_EQ(run.get<int64_t>("tbptt.k1"), 10);
  EXPECT_EQ(run.get<int64_t>("train.epochs"), 2);
  // followers
  EXPECT_EQ(run.get<int64_t>("tbptt.k2"), 10);
  EXPECT_EQ(run.get<int64_t>("eval.window"), 10);
  EXPECT_EQ(run.get<int64_t>("data.seed"), 1);
  EXPECT_EQ(run.get<int64_t>("model.embedding"), 128);  // delayed_recall has token inputs
  // fixed defaults, as the issue lists them
  EXPECT_EQ(run.get<int64_t>("seed"), 1);
  EXPECT_EQ(run.get<int64_t>("data.length"), 100000);
  EXPECT_EQ(run.get<int64_t>("data.valid_length"), 10000);
  EXPECT_EQ(run.get<int64_t>("data.test_length"), 10000);
  EXPECT_EQ(run.get<int64_t>("data.alphabet"), 8);
  EXPECT_EQ(run.get<int64_t>("data.lag"), 10);
  EXPECT_EQ(run.get<int64_t>("model.layers"), 1);
  EXPECT_EQ(run.get<int64_t>("model.hidden"), 128);
  EXPECT_EQ(run.get<std::string>("model.output"), "every_step");
  EXPECT_EQ(run.get<double>("model.init_scale"), 0.0);
  EXPECT_EQ(run.get<std::string>("model.precision"), "f32");
  EXPECT_TRUE(run.get<bool>("tbptt.carry_state"));
  EXPECT_EQ(run.get<int64_t>("tbptt.seq_len"), 0);
  EXPECT_FALSE(run.get<bool>("tbptt.drop_last"));
  EXPECT_EQ(run.get<int64_t>("train.batch"), 32);
  EXPECT_EQ(run.get<int64_t>("train.steps"), 0);
  EXPECT_EQ(run.get<double>("train.max_time"), 0.0);
  EXPECT_EQ(run.get<std::string>("train.optimizer.name"), "adam");
  EXPECT_EQ(run.get<double>("train.optimizer.lr"), 0.001);
  EXPECT_EQ(run.get<double>("train.optimizer.beta1"), 0.9);
  EXPECT_EQ(run.get<double>("train.optimizer.beta2"), 0.999);
  EXPECT_EQ(run.get<double>("train.optimizer.eps"), 1e-8);
  EXPECT_EQ(run.get<double>("train.optimizer.weight_decay"), 0.0);
  EXPECT_EQ(run.get<std::string>("train.schedule.name"), "constant");
  EXPECT_EQ(run.get<double>("train.clip_grad_norm"), 0.0);
  EXPECT_EQ(run.get<int64_t>("eval.every"), 0);
  EXPECT_EQ(run.get<int64_t>("eval.batch"), 10);
  EXPECT_EQ(run.get<std::vector<std::string>>("eval.splits"), std::vector<std::string>{"valid"});
  EXPECT_EQ(run.get<int64_t>("parallel.ranks_per_run"), 1);
  EXPECT_EQ(run.get<int64_t>("parallel.threads_per_rank"), 0);
  EXPECT_EQ(run.get<int64_t>("checkpoint.every"), 0);
  EXPECT_EQ(run.get<int64_t>("checkpoint.keep"), 2);
  EXPECT_EQ(run.get<int64_t>("fidelity.every"), 0);
  EXPECT_EQ(run.get<int64_t>("fidelity.horizon"), 0);
  EXPECT_EQ(run.get<double>("results.flush_seconds"), 10.0);
  // keys of other sources, optimizers and schedules are absent, not defaulted
  for (const char* absent : {"data.vocab", "data.path", "data.split", "data.cache", "data.period",
                             "train.optimizer.momentum", "train.optimizer.nesterov", "train.schedule.factor"})
    EXPECT_FALSE(run.has(absent)) << absent;
  EXPECT_TRUE(run.swept().empty());
}

TEST(Defaults, FollowersTakeTheValueTheyFollowUnlessSet) {
  const ResolvedRun a = parse("name: a\nseed: 7\ndata: {source: copy}\nmodel: {hidden: 64}\ntbptt: {k1: 5, k2: 15}\n").run(0);
  EXPECT_EQ(a.get<int64_t>("data.seed"), 7);
  EXPECT_EQ(a.get<int64_t>("model.embedding"), 64);
  EXPECT_EQ(a.get<int64_t>("eval.window"), 15);
  const ResolvedRun b = parse("name: b\nseed: 7\ndata: {source: copy, seed: 3}\nmodel: {hidden: 64, embedding: 8}\n"
                      "tbptt: {k1: 5, k2: 15}\neval: {window: 100}\n").run(0);
  EXPECT_EQ(b.get<int64_t>("data.seed"), 3);
  EXPECT_EQ(b.get<int64_t>("model.embedding"), 8);
  EXPECT_EQ(b.get<int64_t>("tbptt.k2"), 15);
  EXPECT_EQ(b.get<int64_t>("eval.window"), 100);
  EXPECT_FALSE(parse("name: c\ndata: {source: sine}\n").run(0).has("model.embedding"));  // real-valued inputs
}

TEST(Defaults, SourceSpecificKeysAndRelativePaths) {
  const ResolvedRun text = parse("name: t\ndata: {source: text, path: corpora/x.txt, level: word, min_count: 2}\n").run(0);
  EXPECT_EQ(text.get<std::string>("data.path"), (std::filesystem::current_path() / "corpora/x.txt").string());
  EXPECT_EQ(text.get<std::vector<double>>("data.split"), (std::vector<double>{0.9, 0.05, 0.05}));
  EXPECT_EQ(text.get<int64_t>("data.min_count"), 2);
  EXPECT_EQ(text.get<int64_t>("data.max_vocab"), 0);
  EXPECT_FALSE(text.has("data.length"));
  EXPECT_EQ(parse("name: t\ndata: {source: text, path: x.txt}\nmodel: {output: last_step}\n").run(0).get<std::string>("model.output"),
            "last_step");  // a last-step head on a token LM is allowed
  const ResolvedRun brown = parse("name: b\ndata: {source: brown, split: bengio2003}\n").run(0);
  EXPECT_EQ(brown.get<std::string>("data.split"), "bengio2003");
  EXPECT_EQ(brown.get<std::string>("data.cache"), (std::filesystem::current_path() / "data/cache").string());
  const ResolvedRun sgd = parse("name: s\ndata: {source: adding}\ntrain: {optimizer: {name: sgd, momentum: 0.9, nesterov: true}}\n").run(0);
  EXPECT_EQ(sgd.get<double>("train.optimizer.momentum"), 0.9);
  EXPECT_TRUE(sgd.get<bool>("train.optimizer.nesterov"));
  EXPECT_FALSE(sgd.has("train.optimizer.beta1"));
  EXPECT_EQ(sgd.get<int64_t>("data.sequence_length"), 100);
  // an integer setting takes an integral float literal, a float setting an integer literal
  const ResolvedRun lit = parse("name: l\ndata: {source: random_tokens, length: 1e6}\ntrain: {optimizer: {lr: 1}}\n").run(0);
  EXPECT_EQ(lit.get<int64_t>("data.length"), 1000000);
  EXPECT_EQ(lit.get<double>("train.optimizer.lr"), 1.0);
}

TEST(Sweep, GridTimesZipTimesSeedsInDocumentedOrder) {
  const Experiment exp = parse(
      "name: sweep\ndata: {source: copy}\ntbptt: {k2: 20}\n"
      "sweep:\n"
      "  zip: {model.hidden: [64, 128], model.layers: [1, 2]}\n"
      "  grid: {tbptt.k1: [5, 10, 20], train.batch: [16, 32]}\n"
      "  seeds: [1, 2]\n");
  ASSERT_EQ(exp.size(), 2u * 3u * 2u * 2u);
  std::set<std::string> ids;
  size_t r = 0;
  for (int64_t seed : {1, 2})
    for (int64_t k1 : {5, 10, 20})
      for (int64_t batch : {16, 32})
        for (auto [hidden, layers] : {std::pair<int64_t, int64_t>{64, 1}, {128, 2}}) {
          const ResolvedRun run = exp.run(r);
          EXPECT_EQ(run.index(), r);
          EXPECT_EQ(run.get<int64_t>("seed"), seed);
          EXPECT_EQ(run.get<int64_t>("data.seed"), seed);
          EXPECT_EQ(run.get<int64_t>("tbptt.k1"), k1);
          EXPECT_EQ(run.get<int64_t>("train.batch"), batch);
          EXPECT_EQ(run.get<int64_t>("model.hidden"), hidden);
          EXPECT_EQ(run.get<int64_t>("model.layers"), layers);
          const SweptValues expected = {{"seed", std::to_string(seed)}, {"tbptt.k1", std::to_string(k1)},
                                        {"train.batch", std::to_string(batch)}, {"model.hidden", std::to_string(hidden)},
                                        {"model.layers", std::to_string(layers)}};
          EXPECT_EQ(run.swept(), expected);
          EXPECT_EQ(run.yaml().find("sweep:"), std::string::npos);
          ids.insert(run.run_id());
          ++r;
        }
  EXPECT_EQ(ids.size(), exp.size());
}

TEST(Sweep, SkipInvalidDropsAndListsImpossibleRuns) {
  const Experiment exp = parse(
      "name: s\ndata: {source: copy}\ntbptt: {k2: 20}\n"
      "sweep: {skip_invalid: true, grid: {tbptt.k1: [5, 40, 10, 30]}}\n");
  ASSERT_EQ(exp.size(), 2u);
  EXPECT_EQ(exp.run(0).get<int64_t>("tbptt.k1"), 5);
  EXPECT_EQ(exp.run(1).get<int64_t>("tbptt.k1"), 10);
  EXPECT_EQ(exp.run(1).index(), 2u);
  ASSERT_EQ(exp.skipped().size(), 2u);
  EXPECT_EQ(exp.skipped()[0].index, 1u);
  EXPECT_EQ(exp.skipped()[0].swept, (SweptValues{{"tbptt.k1", "40"}}));
  EXPECT_EQ(exp.skipped()[1].swept, (SweptValues{{"tbptt.k1", "30"}}));
  EXPECT_NE(exp.skipped()[0].reason.find("tbptt.k2 = 20 must be >= tbptt.k1 = 40"), std::string::npos);
}

TEST(Sweep, SweptSelectorsDecideWhichKeysApplyPerRun) {
  const Experiment exp = parse("name: s\ndata: {lag: 3}\nsweep: {skip_invalid: true, grid: {data.source: [delayed_recall, copy]}}\n");
  ASSERT_EQ(exp.size(), 1u);
  EXPECT_EQ(exp.run(0).get<int64_t>("data.lag"), 3);
  ASSERT_EQ(exp.skipped().size(), 1u);
  EXPECT_NE(exp.skipped()[0].reason.find("data.lag does not apply to data.source = copy"), std::string::npos);
}

TEST(Sweep, CountLimitIsExactlyOneHundredThousand) {
  std::string grid = "[1";
  for (int i = 2; i <= 1000; ++i) grid += ", " + std::to_string(i);
  grid += "]";
  const auto spec_for = [&](const std::string& batches) {
    return read_spec(parse_experiment(
        "name: big\ndata: {source: copy}\nsweep: {grid: {tbptt.k1: " + grid + ", train.batch: " + batches + "}}\n", "big.yaml"));
  };
  std::string hundred = "[1", hundred_one;
  for (int i = 2; i <= 100; ++i) hundred += ", " + std::to_string(i);
  hundred_one = hundred + ", 101]";
  hundred += "]";
  EXPECT_EQ(count_runs(spec_for(hundred)), 100000u);
  try {
    count_runs(spec_for(hundred_one));
    FAIL() << "101000 runs accepted";
  } catch (const ExperimentError& e) {
    EXPECT_NE(std::string(e.what()).find("the sweep expands to 101000 runs = 1000 (tbptt.k1) x 101 (train.batch)"),
              std::string::npos) << e.what();
  }
}

TEST(RunId, StableUnderFormattingChanges) {
  const std::string base = id_of(kFiveLines);
  EXPECT_EQ(base.size(), 12u);
  EXPECT_EQ(base.find_first_not_of("0123456789abcdef"), std::string::npos);
  // keys reordered, comments, block style, other spellings of the same numbers, defaults written out
  EXPECT_EQ(id_of("# the demo\ntrain: {epochs: 2}   # two passes\ntbptt: {k1: 10}\nmodel: {cell: gru}\n"
                  "data: {source: delayed_recall}\nname: demo\n"), base);
  EXPECT_EQ(id_of("name: demo\ndata:\n  source: delayed_recall\nmodel:\n  cell: gru\ntbptt:\n  k1: 10\ntrain:\n  epochs: 2\n"), base);
  EXPECT_EQ(id_of(std::string(kFiveLines) + "seed: 1\neval: {window: 10}\n"), base);
  EXPECT_EQ(id_of("name: demo\ndata: {source: delayed_recall}\nmodel: {cell: gru}\ntbptt: {k1: 1e1, k2: 10}\n"
                  "train: {epochs: 2, optimizer: {lr: 1e-3}}\n"), base);
  EXPECT_EQ(id_of(kFiveLines), base);  // deterministic
}

TEST(RunId, ChangesWithAnyValue) {
  const std::vector<std::string> edits = {
      "tbptt.k1=11", "tbptt.k2=20", "model.cell=lstm", "seed=2", "data.seed=2", "train.optimizer.lr=0.0011",
      "train.optimizer.lr=0.001000001", "eval.window=11", "tbptt.carry_state=false", "name=demo2", "model.embedding=127",
      "eval.splits=[valid, test]", "data.lag=11", "train.epochs=3", "results.flush_seconds=10.5", "data.source=copy",
  };
  std::set<std::string> ids = {parse(kFiveLines).run(0).run_id()};
  for (const std::string& edit : edits) EXPECT_TRUE(ids.insert(parse(kFiveLines, {edit}).run(0).run_id()).second) << edit;
}

TEST(RunId, CanonicalTextReadsBackAsTheSameRun) {
  const ResolvedRun run = parse(
      "name: round\ndata: {source: text, path: \"odd name: #1.txt\", split: [0.8, 0.1, 0.1]}\n"
      "train: {optimizer: {name: sgd, lr: 0.1, momentum: 0.5}, schedule: {name: step}}\neval: {splits: [test, valid]}\n")
                            .run(0);
  EXPECT_NE(run.yaml().find("  split: [0.8, 0.1, 0.1]\n"), std::string::npos) << run.yaml();
  EXPECT_NE(run.yaml().find("    lr: 0.1\n"), std::string::npos);
  EXPECT_NE(run.yaml().find("\nname: round\n"), std::string::npos);
  for (const std::string& text : std::initializer_list<std::string>{
           std::string(kFiveLines),
           run.yaml(),
           std::string("name: budget\ndata: {source: text, path: a.txt, valid_path: b.txt, test_path: c.txt}\n"
                       "train: {steps: 100}\nfidelity: {every: 10, horizon: 50}\n"),
           std::string("name: brown\ndata: {source: brown, level: word, split: bengio2003, max_vocab: 10000}\n"),
       }) {
    const ResolvedRun first = parse(text).run(0);
    const ResolvedRun again = parse(first.yaml()).run(0);
    EXPECT_EQ(again.yaml(), first.yaml());
    EXPECT_EQ(again.run_id(), first.run_id());
  }
}

TEST(Defaults, MootSettingsAreDropped) {
  const ResolvedRun budget = parse("name: b\ndata: {source: copy}\ntrain: {steps: 100}\n").run(0);
  EXPECT_EQ(budget.get<int64_t>("train.steps"), 100);
  EXPECT_FALSE(budget.has("train.epochs"));
  EXPECT_EQ(parse("name: b\ndata: {source: copy}\ntrain: {steps: 0, epochs: 3}\n").run(0).get<int64_t>("train.epochs"), 3);
  const ResolvedRun files = parse("name: f\ndata: {source: text, path: a.txt, valid_path: b.txt, test_path: c.txt}\n").run(0);
  EXPECT_FALSE(files.has("data.split"));
  EXPECT_EQ(error_of("name: f\ndata: {source: text, path: a.txt, valid_path: b.txt, test_path: c.txt, split: [1, 0, 0]}\n"),
            "exp.yaml:2:79: data.split does not apply when data.valid_path and data.test_path give the splits");
}

TEST(Set, OverridesCreatesListsAndClears) {
  const std::string swept = "name: s\ndata: {source: copy}\nsweep: {grid: {tbptt.k1: [5, 10, 20]}}\n";
  EXPECT_EQ(parse(swept).size(), 3u);
  EXPECT_EQ(parse(swept, {"sweep={}"}).size(), 1u);
  EXPECT_EQ(parse(swept, {"sweep.grid.tbptt.k1=[5,10]"}).size(), 2u);
  const Experiment added = parse(swept, {"sweep.grid.train.batch=[16, 32]"});
  EXPECT_EQ(added.size(), 6u);
  EXPECT_EQ(added.run(1).swept(), (SweptValues{{"tbptt.k1", "5"}, {"train.batch", "32"}}));

  const ResolvedRun k1 = parse(kFiveLines, {"tbptt.k1=7"}).run(0);
  EXPECT_EQ(k1.get<int64_t>("tbptt.k1"), 7);
  EXPECT_EQ(k1.get<int64_t>("tbptt.k2"), 7);  // still follows
  const ResolvedRun created = parse(kFiveLines, {"train.optimizer.lr=0.1", "train.optimizer.name=sgd"}).run(0);
  EXPECT_EQ(created.get<double>("train.optimizer.lr"), 0.1);
  EXPECT_EQ(created.get<std::string>("train.optimizer.name"), "sgd");
  EXPECT_EQ(created.get<int64_t>("train.epochs"), 2);  // the rest of train is kept
  const ResolvedRun text = parse(kFiveLines, {"data.source=text", "data.path=x.txt"}).run(0);
  EXPECT_EQ(text.get<std::string>("data.path"), (std::filesystem::current_path() / "x.txt").string());
  const ResolvedRun later = parse(kFiveLines, {"tbptt.k1=7", "tbptt.k1=9"}).run(0);
  EXPECT_EQ(later.get<int64_t>("tbptt.k1"), 9);  // the last --set wins
}

TEST(Set, ErrorsAreLocatedAtTheSetArgument) {
  EXPECT_EQ(error_of(kFiveLines, {"tbptt.kk=5"}), "--set tbptt.kk=5: unknown key tbptt.kk; did you mean tbptt.k1?");
  EXPECT_EQ(error_of(kFiveLines, {"modle.cell=gru"}), "--set modle.cell=gru: unknown key modle; did you mean model?");
  EXPECT_EQ(error_of(kFiveLines, {"tbptt.k1"}), "--set tbptt.k1: expected --set dotted.key=value, e.g. --set tbptt.k1=20");
  EXPECT_EQ(error_of(kFiveLines, {"tbptt.k2=3"}), "--set tbptt.k2=3: tbptt.k2 = 3 must be >= tbptt.k1 = 10 "
                                                   "(gradients flow back at least over the k1 new steps)");
  EXPECT_EQ(error_of(kFiveLines, {"model.hidden=[64"}).rfind("--set model.hidden=[64: YAML syntax error", 0), 0u);
  EXPECT_EQ(error_of(kFiveLines, {"name.x=1"}), "--set name.x=1: cannot set name.x: name is demo (exp.yaml:1:7), not a map");
  EXPECT_EQ(error_of(kFiveLines, {"tbptt..k1=1"}), "--set tbptt..k1=1: 'tbptt..k1' is not a dotted key such as tbptt.k1");
}

TEST(Locate, ValuesSweepListsAndFallbacks) {
  const Experiment exp = parse(
      "name: loc\n"
      "data:\n"
      "  source: text\n"
      "  path: corpus.txt\n"
      "tbptt: {k1: 10}\n"
      "sweep:\n"
      "  grid: {train.batch: [16, 32]}\n");
  EXPECT_EQ(exp.locate("data.path"), "exp.yaml:4:9");
  EXPECT_EQ(exp.locate("tbptt.k1"), "exp.yaml:5:13");
  EXPECT_EQ(exp.locate("train.batch"), "exp.yaml:7:23");     // the sweep list
  EXPECT_EQ(exp.locate("data.valid_path"), "exp.yaml:3:3");  // not written: the data map
  EXPECT_EQ(exp.locate("tbptt.k2"), "exp.yaml:5:8");         // a flow map starts at its brace
  EXPECT_EQ(exp.locate("model.hidden"), "exp.yaml:1:1");     // no model map: the top level
  const ExperimentError e = exp.located(tbptt::ConfigError("data.path", "corpus.txt", "an existing, readable file"));
  EXPECT_EQ(std::string(e.what()), "exp.yaml:4:9: data.path = corpus.txt: an existing, readable file");
}

TEST(Access, TypedGettersRefuseMistakes) {
  const ResolvedRun run = parse(kFiveLines).run(0);
  EXPECT_THROW(run.get<int64_t>("data.path"), std::logic_error);         // does not apply
  EXPECT_THROW(run.get<double>("tbptt.k1"), std::logic_error);           // an integer
  EXPECT_THROW(run.get<int64_t>("tbptt.k3"), std::logic_error);          // no such key
  EXPECT_THROW(run.has("model.hiden"), std::logic_error);
}

TEST(Access, ParamsHoldEveryResolvedValueAsAScalar) {
  const ResolvedRun run = parse(kFiveLines).run(0);
  const auto params = run.params();
  EXPECT_EQ(std::get<int64_t>(params.at("tbptt.k1")), 10);
  EXPECT_EQ(std::get<double>(params.at("train.optimizer.lr")), 0.001);
  EXPECT_EQ(std::get<bool>(params.at("tbptt.carry_state")), true);
  EXPECT_EQ(std::get<std::string>(params.at("model.cell")), "gru");
  EXPECT_EQ(std::get<std::string>(params.at("eval.splits")), "[valid]");
  EXPECT_EQ(params.count("data.path"), 0u);
  size_t leaves = 0;  // one parameter per "key: value" line of the canonical text (section lines end in ':')
  for (size_t at = run.yaml().find(": "); at != std::string::npos; at = run.yaml().find(": ", at + 1)) ++leaves;
  EXPECT_EQ(params.size(), leaves);
}

TEST(Load, ReadsAFileAndNamesItInMessages) {
  const auto path = std::filesystem::temp_directory_path() / ("tbptt_load_" + std::to_string(::getpid()) + ".yaml");
  {
    std::ofstream out(path);
    out << kFiveLines;
  }
  EXPECT_EQ(Experiment::load(path.string()).run(0).run_id(), parse(kFiveLines).run(0).run_id());
  try {
    Experiment::load(path.string(), {"tbptt.k1=0"});
    ADD_FAILURE() << "k1 = 0 accepted";
  } catch (const ExperimentError& e) {
    EXPECT_EQ(std::string(e.what()), "--set tbptt.k1=0: tbptt.k1 must be an integer >= 1; got 0");
    EXPECT_EQ(e.where().line, 0);
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace tbptt::harness
