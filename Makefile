# 政务助手 — set-up, run and test. `make run` and `make test` work from a fresh clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install install-dev index run serve test lint eval bench browser office speech axe postgres vectors knowledge tune intent clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[fast,ocr]'
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,st,llm,ocr]'
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime          ## runtime set-up only (with torch CPU for fast ingest)

install-dev: $(VENV)/.dev          ## runtime + test/lint tools + sentence-transformers + LLM clients

index: install                     ## build or update the index from knowledge/ (incremental)
	$(BIN)/python -m assistant ingest

run: index speech                  ## install, index, serve API + widget demo on 127.0.0.1:8000
	$(BIN)/python serve.py --host $(HOST) --port $(PORT)

serve: install speech
	$(BIN)/python serve.py --host $(HOST) --port $(PORT)

browser:                           ## Debian's Chromium for the browser tests (root only; skipped otherwise)
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ]; then \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
	    || echo "warning: could not install chromium; browser tests will be skipped"; \
	  else echo "warning: not root, cannot apt-get install chromium; browser tests will be skipped"; fi; \
	fi

office:                            ## LibreOffice headless for .doc/.wps/.xls knowledge files (optional; root only)
	@if ! command -v soffice >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-writer-nogui libreoffice-calc-nogui >/dev/null) \
	    || echo "warning: could not install LibreOffice; .doc/.wps/.xls files will be skipped with a 'convert to DOCX/XLSX' reason"; \
	  else echo "warning: not root, cannot apt-get install LibreOffice; .doc/.wps/.xls files will be skipped (convert them to DOCX/XLSX)"; fi; \
	fi


speech:                            ## Debian's espeak-ng (offline Mandarin read-aloud for /v1/speech; root only)
	@if ! command -v espeak-ng >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null) \
	    || echo "warning: could not install espeak-ng; read-aloud falls back to the browser's own voices"; \
	  else echo "warning: not root, cannot apt-get install espeak-ng; read-aloud falls back to the browser's own voices"; fi; \
	fi

postgres:                          ## Debian's PostgreSQL server for the storage contract tests (root only; skipped otherwise)
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	    || echo "warning: could not install postgresql; the PostgreSQL storage tests will be skipped"; \
	  else echo "warning: not root, cannot apt-get install postgresql; the PostgreSQL storage tests will be skipped"; fi; \
	fi

AXE := .cache/npm/node_modules/axe-core/axe.min.js
axe: $(AXE)                        ## axe-core (npm) for the accessibility tests, into the ignored .cache/npm
$(AXE):
	@mkdir -p .cache/npm
	@npm install --prefix .cache/npm --no-audit --no-fund --silent axe-core@4.14.1 >/dev/null 2>&1 \
	  || echo "warning: could not npm install axe-core; the accessibility audits will be skipped"

test: install-dev browser office speech axe postgres ## install everything and run the whole suite
	$(BIN)/python -m pytest -q

lint: install-dev
	$(BIN)/ruff check assistant evals tools tests benchmarks serve.py
	$(BIN)/ruff format --check assistant evals tools tests benchmarks serve.py
	$(BIN)/mypy assistant evals tools

eval: index                        ## dev-set evaluations (reports under evals/runs/)
	$(BIN)/python -m evals run --dataset evals/datasets/beijing_qa_dev.jsonl --corpus evals/datasets/beijing_passages_dev.jsonl --mode retrieval --out evals/runs/beijing-retrieval
	$(BIN)/python -m evals run --dataset evals/datasets/beijing_qa_dev.jsonl --corpus evals/datasets/beijing_passages_dev.jsonl --mode answer --out evals/runs/beijing-answer
	$(BIN)/python -m evals run --dataset evals/datasets/citizen_messages_dev.jsonl --corpus evals/datasets/beijing_passages_dev.jsonl --mode answer --out evals/runs/citizen-answer
	$(BIN)/python -m evals run --dataset evals/datasets/out_of_scope.jsonl --corpus evals/datasets/beijing_passages_dev.jsonl --mode answer --out evals/runs/out-of-scope-answer
	$(BIN)/python -m evals run --dataset evals/datasets/colloquial_qa_dev.jsonl --dataset evals/datasets/colloquial_followup_dev.jsonl --dataset evals/datasets/colloquial_intent_dev.jsonl --mode answer --out evals/runs/colloquial-answer
	$(BIN)/python -m evals run --dataset evals/datasets/colloquial_intent_dev.jsonl --dataset evals/datasets/colloquial_qa_dev.jsonl --dataset evals/datasets/colloquial_followup_dev.jsonl --mode intent --out evals/runs/colloquial-intent

vectors: index                     ## re-write knowledge/_vectors/embeddings.npz (shipped vectors) from the index
	$(BIN)/python -m assistant vectors

bench: index                       ## benchmarks; figures go to docs/benchmarks/
	$(BIN)/python benchmarks/ingest_search.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/load_api.py

tune: install-dev                  ## re-train the bundled e5 adapter (~45 min on 2 cores): LODO figures, then the adapter
	$(BIN)/python -m assistant.tuning lodo --dataset evals/datasets/beijing_qa_dev.jsonl --corpus evals/datasets/beijing_passages_dev.jsonl --report docs/tuning/lodo.json
	$(BIN)/python -m assistant.tuning train --dataset evals/datasets/beijing_qa_dev.jsonl --corpus evals/datasets/beijing_passages_dev.jsonl --lodo-report docs/tuning/lodo.json --out assistant/resources/adapters/gov-qa.npz

intent: install                    ## re-train the bundled intent model (~2 min): weights + docs/intent/report.json
	ASSISTANT_EMBEDDER__THREADS=$${ASSISTANT_EMBEDDER__THREADS:-1} $(BIN)/python -m assistant.intent train

knowledge: install                 ## re-run the converter: ../shared/data/knowledge_raw → knowledge/
	$(BIN)/python -m tools.convert_raw --raw ../shared/data/knowledge_raw --dev ../shared/data/dev --out knowledge

clean:
	rm -rf index .cache var evals/runs
