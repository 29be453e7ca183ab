"""What each benchmark runs. A row is (label, model, preset, overrides): the model's named preset
(`Recommender.presets`, e.g. TIGER's ``"cpu"`` and ``"paper"``) with a few settings on top.
Published numbers come from the models (`Recommender.published`); peer runs measured on this
kind of machine are listed here."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BenchRow:
    label: str  # the row's name on the page
    model: str  # registry name
    preset: str | None = None
    overrides: dict = field(default_factory=dict)
    eval_users: int | None = None  # score a fixed random subset of the test users (slow decoders); None: all


@dataclass(frozen=True)
class Bench:
    dataset: str
    rows: tuple[BenchRow, ...]
    gpu: bool = False  # sized for a GPU: `bench all` skips it, it runs only by name
    curve_x: str = "epoch"  # the curves plot: validation NDCG@10 per "epoch", or (seen kept) against "minutes"
    runner: str | None = None  # a module with its own run(...) and to_markdown(out): a benchmark that trains no model


BENCHES: dict[str, Bench] = {
    "synthetic": Bench("synthetic", (
        BenchRow("popularity", "popularity"),
        BenchRow("sasrec (CE)", "sasrec"),
        BenchRow("tiger", "tiger", overrides={"dropout": 0.1, "epochs": 12}),
    )),
    "ml-100k": Bench("ml-100k", (
        BenchRow("popularity", "popularity"),
        BenchRow("sasrec (CE)", "sasrec", "bench", {"max_minutes": 12}),
    )),
    # SASRec with its default settings, three seeds, against RecBole's time and quality on its protocol
    "ml-100k-speed": Bench("ml-100k", tuple(
        BenchRow(f"sasrec (defaults, seed {seed})", "sasrec", overrides={"seed": seed, "val_log_kept": True})
        for seed in (0, 1, 2)), curve_x="minutes"),
    "amazon-beauty": Bench("amazon-beauty", (
        BenchRow("popularity", "popularity"),
        BenchRow("sasrec (CE)", "sasrec", "bench", {"lr": 2e-3, "max_minutes": 35}),
        BenchRow("sasrec (BCE)", "sasrec", "paper", {"max_minutes": 30}),
        # about 2.5 min per epoch on 2 cores with length-bucketed batches (scripts/profile_tiger.py)
        BenchRow("tiger (CPU config)", "tiger", "cpu"),
        # the same T5 on PLUM's SID-v2 IDs (text + co-occurrence embeddings fused before quantization)
        BenchRow("tiger (CPU config, SID-v2)", "tiger", "cpu", {"method": "sid-v2", "patience": 8, "max_minutes": 85}),
        # PLUM at a reduced number of steps (step budgets, so a busy machine changes the time, not the
        # model): a tiny Llama pre-trained on the catalog's text (0.78 of an epoch of SFT, 23 min), and
        # SmolLM2-135M + LoRA (60 SFT steps of 16; ~1.5 s per user to decode on 2 cores, hence the subsets)
        BenchRow("plum (tiny LM)", "plum", None, {
            "d_model": 128, "n_layers": 2, "n_heads": 4, "lm_steps": 500, "cpt_steps": 1000, "codebook_size": 256,
            "batch_size": 128, "max_steps": 800, "val_users": 300}, eval_users=3000),
        BenchRow("plum (SmolLM2 + LoRA)", "plum", "smollm2", {
            "codebook_size": 256, "cpt_steps": 40, "max_steps": 60, "val_users": 20}, eval_users=100),
        # LinkedIn's dual encoder: member and item prompts through one tiny Llama (a step budget); its
        # serving costs (catalog embedding, exact vs FAISS HNSW kNN per member) are printed under the table
        BenchRow("linkedin (tiny LM)", "linkedin", None, {
            "d_model": 64, "n_layers": 2, "n_heads": 4, "lm_steps": 300, "max_history": 5, "batch_size": 128,
            "max_steps": 300, "val_users": 300}, eval_users=3000),
    )),
    "amazon-beauty-paper": Bench("amazon-beauty", (BenchRow("tiger (paper config)", "tiger", "paper"),), gpu=True),
    # softmax vs linear vs quasi-linear attention: time and memory against N (no data, no model)
    "attention-scaling": Bench("none", (), runner="llmrec_mini.bench.attention_scaling"),
    # VISTA's stage-2 latency with cached summaries vs full target attention against the history length,
    # and stage-1 summarisation of a 1M-event history (untrained models: no data, no training)
    "vista-latency": Bench("none", (), runner="llmrec_mini.bench.vista_latency"),
    # PLUM's LLM path on this CPU: CPT and SFT tokens per second, decoding latency with and without the trie
    "plum-cost": Bench("none", (), runner="llmrec_mini.bench.llm_cost"),
}

# RecBole SASRec (CE) measured on this kind of machine (../shared/research/peer_recbole.md); seen items kept.
RECBOLE_ML100K = {"model": "RecBole SASRec CE (peer run, seen kept)", "recall@5": .0689, "ndcg@5": .0428,
                  "recall@10": .1251, "ndcg@10": .0609}
# its validation NDCG@10 per epoch (0-based epochs 0..28, seen kept); an epoch took 97.6 s on average (83-108 s)
# and its validation 0.22 s; the curve spaces epochs evenly at that mean
RECBOLE_ML100K_VALID = (.0213, .0340, .0433, .0495, .0531, .0615, .0576, .0642, .0608, .0605, .0607, .0609, .0635,
                        .0638, .0623, .0636, .0700, .0702, .0631, .0626, .0674, .0643, .0639, .0615, .0642, .0630,
                        .0601, .0664, .0644)
PEER = {
    "ml-100k": [RECBOLE_ML100K],
    "ml-100k-speed": [{**RECBOLE_ML100K, "wall_s": 47 * 60 + 26, "curve": [
        {"epoch": e, "score": v, "seconds": 97.6 + 0.22} for e, v in enumerate(RECBOLE_ML100K_VALID)]}],
    "amazon-beauty": [{"model": "RecBole SASRec CE (peer run, 20 epochs, seen kept)", "recall@5": .0529,
                       "ndcg@5": .0318, "recall@10": .0803, "ndcg@10": .0407}],
}
DATA_FOLDERS = {"ml-100k": "ml-100k", "amazon-beauty": "amazon2014-beauty/raw"}
METRICS = ("recall@5", "ndcg@5", "recall@10", "ndcg@10")
