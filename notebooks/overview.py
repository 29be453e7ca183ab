# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Overview: LLMs in recommender systems
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/llmrec-mini/llmrec-mini/blob/main/notebooks/overview.ipynb)
#
# *Stand-in page: the full overview note replaces it.* It shows the parts every note has: prose
# with math, a diagram, then code that imports `llmrec_mini` and runs on the built-in data.
#
# A sequential recommender scores the next item $i$ after a history $h_u = (i_1, \dots, i_t)$ with
#
# $$
# p(i_{t+1} = i \mid h_u) = \frac{\exp(s_\theta(h_u, i))}{\sum_{j \in \mathcal{I}} \exp(s_\theta(h_u, j))},
# $$
#
# and an LLM-based recommender changes what $s_\theta$ reads (item text, semantic IDs) and how items
# are produced (generated token by token instead of ranked). See the [datasets](datasets.md) page for
# the data used below.
#
# ```mermaid
# flowchart LR
#     H[user history] --> E[encoder / LLM] --> S[scores or generated item IDs] --> R[top-K list]
# ```

# %% tags=["colab-install"]
import importlib.util, subprocess, sys
if "google.colab" in sys.modules and importlib.util.find_spec("llmrec_mini") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "llmrec-mini @ git+https://github.com/llmrec-mini/llmrec-mini@main"])

# %% tags=["parameters"]
import os

SEED = 0
SMOKE = os.environ.get("LLMREC_SMOKE", "0") not in ("", "0", "false", "False")  # the test suite sets it

# %%
import llmrec_mini
from llmrec_mini.utils import set_seed

set_seed(SEED)
print("llmrec_mini", llmrec_mini.__version__)

# %% [markdown]
# ## The built-in data

# %%
from llmrec_mini.data import load_dataset

data = load_dataset("synthetic", size="tiny" if SMOKE else "default", seed=SEED)
stats = data.stats()
for key in ("users", "items", "interactions", "seq_len_mean"):
    print(f"{key:>14}: {stats[key]}")

# %%
import matplotlib.pyplot as plt

lengths = [len(s) for s in data.interactions.sequences]
fig, ax = plt.subplots(figsize=(5, 2.5))
ax.hist(lengths, bins=30)
ax.set(xlabel="sequence length", ylabel="users", title="History lengths")
plt.show()

# %%
import numpy as np
import plotly.express as px

counts = np.bincount(np.concatenate(data.interactions.sequences), minlength=data.n_items)
px.line(y=np.sort(counts)[::-1], labels={"x": "item rank", "y": "interactions"}, log_y=True,
        title="Item popularity (long tail)", height=320).show()
