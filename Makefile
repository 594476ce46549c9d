# Likeness: make run | make test | make bench | make train-toybox | make fixtures | make screenshots
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# tmux: the studio's end-to-end tests drive the real binary in it.
SYSTEM_PACKAGES := libopenblas-dev libsixel-dev libncursesw5-dev libpng-dev libjpeg-dev tmux
# make screenshots: a real sixel xterm on a virtual screen (../shared/tools/xterm-shot.sh style).
SCREENSHOT_PACKAGES := xterm xvfb imagemagick xdotool
# make bench-gemm: oneDNN's bf16 matmul as the reference for the engine's bf16 GEMM kernel.
GEMM_BENCH_PACKAGES := libdnnl-dev libopenblas-dev g++
# make bench: stable-diffusion.cpp (the native peer's rows) is compiled from its PyPI source distribution.
PEER_BENCH_PACKAGES := cmake g++
MODEL ?= Models/toybox
RUN_DIR ?= runs/toybox
export OMP_NUM_THREADS ?= 2
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_VERBOSITY := error

.PHONY: run test test-swift test-python test-large bench bench-gemm bench-peer-deps deps system-deps screenshot-deps screenshots venv fixtures build release train-toybox train-toybox-quick clean

## Install what is missing --------------------------------------------------------------

system-deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(SYSTEM_PACKAGES)"

screenshot-deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(SCREENSHOT_PACKAGES)"

gemm-bench-deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(GEMM_BENCH_PACKAGES)"

# stable-diffusion-cpp-python vendors stable-diffusion.cpp and ggml and compiles them (CPU only, no
# BLAS: ggml's own kernels, as its users get them) into the venv; only `make bench` needs it.
$(VENV)/.peer-installed: $(VENV)/.installed
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(PEER_BENCH_PACKAGES)"
	CMAKE_ARGS="-DSD_CUDA=OFF -DSD_METAL=OFF -DSD_VULKAN=OFF -DGGML_NATIVE=ON" CMAKE_BUILD_PARALLEL_LEVEL=2 \
	  nice -n 10 $(PY) -m pip install -q --no-binary stable-diffusion-cpp-python stable-diffusion-cpp-python
	touch $@

bench-peer-deps: $(VENV)/.peer-installed

apt-install:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# torch is pinned (an unpinned torch pulls a multi-GB CUDA build); open-clip-torch is installed
# without its dependencies only for the CLIP BPE vocabulary file its wheel ships (tokenizer tests);
# sd-parsers is a third-party reader of A1111 PNG parameters (Training/tests/test_png_parameters.py);
# peft is what diffusers' load_lora_weights needs (the LoRA fixtures of scripts/fixtures/single_file.py).
$(VENV)/.installed: Training/pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q diffusers transformers tokenizers safetensors accelerate numpy pillow pytest sd-parsers peft
	$(PY) -m pip install -q --no-deps open-clip-torch
	touch $@

venv: $(VENV)/.installed

deps: system-deps venv

## Build, fixtures, tests ---------------------------------------------------------------

build: system-deps
	swift build

release: system-deps
	swift build -c release

fixtures: deps
	@set -e; for s in scripts/fixtures/*.py; do [ -e "$$s" ] || continue; echo "fixtures: $$s"; $(PY) $$s; done

test-swift: fixtures
	swift build --build-tests
	swift test --skip-build --skip LargeSingleFileTests

# Single-file parity at the real SD-1.5 and SD-2.x architectures (random weights, ~26 GB of
# fixtures, minutes on 2 cores): not part of `make test`.
test-large: deps
	$(PY) scripts/large/single_file_real.py
	swift build --build-tests
	swift test --skip-build --filter LargeSingleFileTests

test-python: venv
	cd Training && ../$(PY) -m pytest -q

test: test-swift test-python

## Use ----------------------------------------------------------------------------------

# Opens the studio on the built-in model; the sample objects are put in the gallery on first start.
run: deps release
	.build/release/likeness studio --model $(MODEL)

screenshots: screenshot-deps release
	scripts/screenshots.sh

bench: deps release bench-peer-deps
	$(PY) scripts/bench.py

# GEMM shapes of the SD-1.5 UNet: OpenBLAS sgemm, oneDNN bf16 and the engine's bf16 kernel (docs/BENCHMARKS.md).
bench-gemm: gemm-bench-deps
	scripts/gemm/run.sh

## Training -----------------------------------------------------------------------------

# The whole chain on CPU takes hours on 2 cores; on a CUDA GPU, minutes. Every stage resumes.
# The towers come from Training/checkpoints/clip-toybox1 (the clip stage trains new ones: `clip`).
# Reproduces Models/toybox from the committed snapshots (Training/checkpoints, their snapshot.json
# say how each was made): the towers, the VAE and the base UNet as committed, then the encoder stage
# and export. The whole chain from scratch is in Training/README.md.
TOYBOX_CLIP ?= checkpoints/clip-toybox8
TOYBOX_VAE ?= checkpoints/vae-c32-l8b
# The VAE the model ships (export --vae checks that it has the stages' latent space; a VAE with only
# its decoder trained on, vae --decoder-only, passes that check).
TOYBOX_SHIP_VAE ?= checkpoints/vae-c32-l8b
TOYBOX_UNET ?= checkpoints/base-v9/unet
# The text encoder that base was trained with (base --lr-text); empty: the towers' own.
TOYBOX_TEXT ?= checkpoints/base-v9/text_encoder
# The encoder stage's levers for the built-in model (docs/RESULTS.md, "Where the object's look is lost",
# arms t20-t21 under "The base model at 219,600 images", and "Short captions").
TOYBOX_ENCODER_FLAGS ?= --vision-attr-weight 1 --token-norm words --word-align-weight 0.3 --align-steps 1500 \
  --short-caption-rate 0.5
train-toybox: venv
	cd Training && PYTHONPATH=. ../$(PY) -m likeness_train render-data --run-dir ../$(RUN_DIR)
	cd Training && PYTHONPATH=. ../$(PY) -m likeness_train clip-from-model --run-dir ../$(RUN_DIR) --model $(TOYBOX_CLIP)
	cd Training && PYTHONPATH=. ../$(PY) -m likeness_train from-snapshots --run-dir ../$(RUN_DIR) \
	  --vae $(TOYBOX_VAE) --unet $(TOYBOX_UNET) $(if $(TOYBOX_TEXT),--text-encoder $(TOYBOX_TEXT))
	cd Training && PYTHONPATH=. ../$(PY) -m likeness_train encoder --run-dir ../$(RUN_DIR) --steps 1200 --batch-size 48 \
	  $(TOYBOX_ENCODER_FLAGS)
	cd Training && PYTHONPATH=. ../$(PY) -m likeness_train export --run-dir ../$(RUN_DIR) --out ../$(MODEL) \
	  --vae $(TOYBOX_SHIP_VAE)

train-toybox-quick: venv
	cd Training && for s in render-data clip vae base encoder; do \
	  PYTHONPATH=. ../$(PY) -m likeness_train $$s --run-dir ../runs/quick --quick true $$( [ $$s = render-data ] || echo --steps 20 ) || exit 1; done
	cd Training && PYTHONPATH=. ../$(PY) -m likeness_train export --run-dir ../runs/quick --quick true --out ../runs/quick/model

clean:
	rm -rf .build Tests/Fixtures/generated runs/quick
