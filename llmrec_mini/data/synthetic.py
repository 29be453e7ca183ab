"""The built-in dataset: a small shop whose users behave like real shoppers, generated from a seed.

Generative story (documented on the site's Datasets page):

1. **Catalog.** Departments hold leaf categories (``Electronics > Cameras``). Each department has
   brands; each leaf category has nouns and a typical price. An item = brand + adjective + noun +
   model number, with a log-normal price around its category's, tags and a one-line description.
   Items have a Zipf-like popularity inside their category.
2. **Complements.** Every leaf category has a complementary one (cameras -> lenses), and every
   item has a few specific *follow-up* items in that category (this camera -> these 3 lenses).
3. **Users.** A user has a sparse taste over leaf categories (Dirichlet around Zipf-like category appeal), a second taste it drifts
   towards over its lifetime, a favourite brand per department and a price level.
4. **Sequences.** After item p the next item is, with probabilities ``p_follow / p_stay / p_comp``:
   a follow-up of p, another item of p's category (repeat-category runs), an item of the
   complementary category, a bestseller (top 5% by global popularity); otherwise an item of a category drawn from the (drifting) taste. Items
   are drawn by popularity x brand affinity x price fit, never repeating an item for a user.
   Timestamps grow by exponential gaps.

So order carries real signal (follow-ups, runs, complements) that a sequence model can learn and
popularity cannot, while text fields carry the category/brand structure semantic IDs can find.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .core import Catalog, Dataset, Interactions

# department -> leaf category -> (nouns, typical price, complement leaf)
DEPARTMENTS: dict[str, dict[str, tuple[list[str], float, str]]] = {
    "Electronics": {
        "Cameras": (["Mirrorless Camera", "Action Camera", "Instant Camera"], 450.0, "Lenses"),
        "Lenses": (["Prime Lens", "Zoom Lens", "Macro Lens"], 300.0, "Camera Bags"),
        "Camera Bags": (["Sling Bag", "Camera Backpack", "Lens Pouch"], 60.0, "Cameras"),
        "Headphones": (["Wireless Earbuds", "Over-Ear Headphones", "Studio Monitors"], 120.0, "Chargers"),
        "Chargers": (["USB-C Charger", "Power Bank", "Charging Dock"], 35.0, "Headphones"),
    },
    "Kitchen": {
        "Coffee Makers": (["Espresso Machine", "Pour-Over Kettle", "French Press"], 140.0, "Coffee Beans"),
        "Coffee Beans": (["Dark Roast Beans", "Single-Origin Beans", "Decaf Blend"], 18.0, "Mugs"),
        "Mugs": (["Ceramic Mug", "Travel Mug", "Glass Cup"], 15.0, "Coffee Makers"),
        "Cookware": (["Cast Iron Skillet", "Saucepan", "Dutch Oven"], 70.0, "Knives"),
        "Knives": (["Chef Knife", "Paring Knife", "Knife Sharpener"], 55.0, "Cookware"),
    },
    "Outdoors": {
        "Tents": (["Dome Tent", "Ultralight Tent", "Family Tent"], 220.0, "Sleeping Bags"),
        "Sleeping Bags": (["Down Sleeping Bag", "Synthetic Sleeping Bag", "Sleeping Pad"], 110.0, "Camp Stoves"),
        "Camp Stoves": (["Canister Stove", "Wood Stove", "Stove Fuel"], 50.0, "Tents"),
        "Hiking Boots": (["Trail Boots", "Approach Shoes", "Hiking Socks"], 130.0, "Backpacks"),
        "Backpacks": (["Daypack", "Trekking Pack", "Hydration Pack"], 90.0, "Hiking Boots"),
    },
    "Beauty": {
        "Skincare": (["Face Serum", "Moisturizer", "Cleanser"], 30.0, "Sunscreen"),
        "Sunscreen": (["Mineral Sunscreen", "SPF Lotion", "After-Sun Gel"], 16.0, "Skincare"),
        "Hair Care": (["Shampoo", "Conditioner", "Hair Mask"], 14.0, "Hair Tools"),
        "Hair Tools": (["Hair Dryer", "Straightener", "Curling Wand"], 65.0, "Hair Care"),
        "Fragrance": (["Eau de Parfum", "Body Mist", "Cologne"], 55.0, "Skincare"),
    },
    "Books": {
        "Science Fiction": (["Space Opera Novel", "Cyberpunk Novel", "Short Story Collection"], 14.0, "Fantasy"),
        "Fantasy": (["Epic Fantasy Novel", "Fairy Tale Retelling", "Dragon Saga"], 15.0, "Science Fiction"),
        "Cookbooks": (["Baking Cookbook", "Vegetarian Cookbook", "Pasta Cookbook"], 25.0, "Cookware"),
        "Travel Guides": (["City Guide", "Hiking Guide", "Phrasebook"], 18.0, "Backpacks"),
        "Programming": (["Python Handbook", "Algorithms Textbook", "Machine Learning Primer"], 40.0, "Science Fiction"),
    },
    "Toys": {
        "Building Sets": (["Brick Set", "Magnetic Tiles", "Marble Run"], 45.0, "Puzzles"),
        "Puzzles": (["Jigsaw Puzzle", "Puzzle Cube", "Logic Puzzle"], 20.0, "Board Games"),
        "Board Games": (["Strategy Game", "Party Game", "Card Game"], 35.0, "Puzzles"),
        "Plush": (["Teddy Bear", "Plush Dragon", "Plush Bunny"], 22.0, "Building Sets"),
        "Remote Control": (["RC Car", "Mini Drone", "RC Boat"], 80.0, "Chargers"),
    },
}
ADJECTIVES = ["Compact", "Classic", "Pro", "Ultra", "Essential", "Premium", "Eco", "Lite", "Deluxe", "Smart",
              "Vintage", "Sport"]
TAGS = ["bestseller", "eco-friendly", "gift idea", "new arrival", "budget pick", "premium", "travel size",
        "limited edition", "handmade", "bundle"]
SYLLABLES = ["lu", "mo", "ra", "ke", "vi", "sa", "no", "ta", "ze", "pi", "do", "ri", "an", "el", "or", "ux"]


@dataclass(frozen=True)
class SyntheticConfig:
    n_users: int = 3000
    n_items: int = 1500
    n_departments: int = 6
    brands_per_department: int = 5
    mean_length: float = 14.0  # length = 5 + geometric(mean mean_length - 4): at least 6, mean ~ mean_length + 1
    max_length: int = 60
    p_follow: float = 0.30  # next item is one of the previous item's follow-ups
    p_stay: float = 0.25  # ... another item of the same leaf category
    p_comp: float = 0.15  # ... an item of the complementary category
    p_popular: float = 0.08  # ... a current bestseller (global popularity)
    n_followups: int = 3
    taste_alpha: float = 0.15  # Dirichlet concentration of tastes (small = few favourite categories)
    drift: float = 0.5  # how far tastes move towards the second taste over a lifetime (0..1)
    popularity_exponent: float = 0.9  # Zipf exponent inside a category
    category_exponent: float = 1.0  # Zipf exponent of how many users like each category
    brand_boost: float = 3.0


SIZES = {
    "tiny": SyntheticConfig(n_users=200, n_items=150, n_departments=3, brands_per_department=3, mean_length=10.0),
    # the shop most model tests train on: enough users for a generative model to beat popularity in a minute
    "small": SyntheticConfig(n_users=600, n_items=200),
    "default": SyntheticConfig(),
    "large": SyntheticConfig(n_users=20000, n_items=8000, n_departments=6, brands_per_department=8, mean_length=18.0),
}


def _brand_names(rng: np.random.Generator, n: int) -> list[str]:
    names: set[str] = set()
    while len(names) < n:
        k = rng.integers(2, 4)
        names.add("".join(rng.choice(SYLLABLES, size=k)).capitalize())
    return sorted(names)


def _make_catalog(cfg: SyntheticConfig, rng: np.random.Generator):
    departments = list(DEPARTMENTS)[: cfg.n_departments]
    leaves = [(d, leaf) for d in departments for leaf in DEPARTMENTS[d]]
    leaf_index = {leaf: k for k, (_, leaf) in enumerate(leaves)}
    # complement of a leaf; complements that point to a department left out fall back to the next leaf
    complement = np.array([leaf_index.get(DEPARTMENTS[d][leaf][2], (k + 1) % len(leaves))
                           for k, (d, leaf) in enumerate(leaves)])
    brands = dict(zip(departments, np.array_split(_brand_names(rng, cfg.n_departments * cfg.brands_per_department),
                                                  cfg.n_departments)))
    leaf_of = np.sort(rng.integers(0, len(leaves), size=cfg.n_items))
    leaf_of[: len(leaves)] = np.arange(len(leaves))  # every leaf has at least one item
    leaf_of = np.sort(leaf_of)
    titles, cats, brand_of, prices, tags, descs = [], [], [], [], [], []
    for i, lf in enumerate(leaf_of):
        dept, leaf = leaves[lf]
        nouns, base_price, _ = DEPARTMENTS[dept][leaf]
        brand = str(rng.choice(brands[dept]))
        adj, noun = rng.choice(ADJECTIVES), rng.choice(nouns)
        price = float(np.round(base_price * np.exp(rng.normal(0, 0.35)), 2))
        item_tags = sorted(set(rng.choice(TAGS, size=rng.integers(1, 4)).tolist()))
        titles.append(f"{brand} {adj} {noun} {chr(65 + i % 26)}{10 + i % 90}")
        cats.append([dept, leaf])
        brand_of.append(brand)
        prices.append(price)
        tags.append(item_tags)
        descs.append(f"A {adj.lower()} {noun.lower()} by {brand} for {leaf.lower()} fans; {', '.join(item_tags)}.")
    catalog = Catalog(item_ids=[f"S{i:05d}" for i in range(cfg.n_items)], titles=titles, descriptions=descs,
                      categories=cats, brands=brand_of, prices=np.array(prices), tags=tags)
    return catalog, leaves, leaf_of, complement


def make_synthetic(size: str = "default", seed: int = 0, **overrides) -> Dataset:
    """Generate the built-in dataset (`size` in tiny/default/large; any SyntheticConfig field can be overridden)."""
    if size not in SIZES:
        raise ValueError(f"unknown synthetic size {size!r}; choose one of {', '.join(SIZES)}")
    cfg = SyntheticConfig(**{**asdict(SIZES[size]), **overrides})
    rng = np.random.default_rng(seed)
    catalog, leaves, leaf_of, complement = _make_catalog(cfg, rng)
    n_leaves = len(leaves)
    members = [np.flatnonzero(leaf_of == k) for k in range(n_leaves)]
    # Zipf-like popularity inside each leaf, by a random rank
    popularity = np.empty(cfg.n_items)
    for m in members:
        popularity[m] = 1.0 / (1.0 + rng.permutation(len(m))) ** cfg.popularity_exponent
    # follow-ups: specific items of the complementary leaf, same brand preferred
    brand_arr = np.array(catalog.brands)
    followups = []
    for i in range(cfg.n_items):
        cand = members[complement[leaf_of[i]]]
        w = popularity[cand] * np.where(brand_arr[cand] == brand_arr[i], 4.0, 1.0)
        followups.append(rng.choice(cand, size=min(cfg.n_followups, len(cand)), replace=False, p=w / w.sum()))
    log_price = np.log(catalog.prices)
    dept_of_leaf = np.array([list(DEPARTMENTS).index(d) for d, _ in leaves])
    leaf_log_price = _leaf_mean(log_price, leaf_of, n_leaves)
    # some categories appeal to more people than others (so global popularity carries some signal)
    leaf_appeal = 1.0 / (1.0 + rng.permutation(n_leaves)) ** cfg.category_exponent
    leaf_appeal /= leaf_appeal.sum()
    global_pop = popularity * leaf_appeal[leaf_of]
    bestsellers = np.argsort(-global_pop)[: max(10, cfg.n_items // 20)]
    item_dept = np.unique(dept_of_leaf, return_inverse=True)[1][leaf_of]
    brand_code = np.unique(brand_arr, return_inverse=True)[1]
    dept_brands = [np.unique(brand_code[item_dept == d]) for d in range(item_dept.max() + 1)]

    sequences, timestamps = [], []
    for _ in range(cfg.n_users):
        taste0, taste1 = rng.dirichlet(cfg.taste_alpha * n_leaves * leaf_appeal, size=2)
        fav_brand = np.array([rng.choice(b) for b in dept_brands])  # one favourite brand per department
        price_level = rng.normal(0, 0.3)  # log-ratio to the category's typical price
        boost = np.where(brand_code == fav_brand[item_dept], cfg.brand_boost, 1.0)
        # popularity x brand affinity x price fit (prices near the user's level for that category)
        weight = popularity * boost * np.exp(-0.5 * ((log_price - leaf_log_price - price_level) / 0.5) ** 2)
        length = int(min(cfg.max_length, 5 + rng.geometric(1.0 / max(1.0, cfg.mean_length - 4))))
        seen = np.zeros(cfg.n_items, dtype=bool)
        seq: list[int] = []
        prev = -1
        for t in range(length):
            item = -1
            r = rng.random()
            if prev >= 0 and r < cfg.p_follow:
                options = [f for f in followups[prev] if not seen[f]]
                item = int(rng.choice(options)) if options else -1
            if item < 0:
                if prev >= 0 and r < cfg.p_follow + cfg.p_stay:
                    leaf = leaf_of[prev]
                elif prev >= 0 and r < cfg.p_follow + cfg.p_stay + cfg.p_comp:
                    leaf = complement[leaf_of[prev]]
                elif r < cfg.p_follow + cfg.p_stay + cfg.p_comp + cfg.p_popular:
                    leaf = -1  # a bestseller from anywhere
                else:
                    lam = cfg.drift * t / max(1, length - 1)
                    leaf = rng.choice(n_leaves, p=(1 - lam) * taste0 + lam * taste1)
                pool = bestsellers if leaf < 0 else members[leaf]
                cand = pool[~seen[pool]]
                if len(cand) == 0:  # category exhausted: fall back to any unseen item
                    cand = np.flatnonzero(~seen)
                w = global_pop[cand] if leaf < 0 else weight[cand]
                item = int(rng.choice(cand, p=w / w.sum()))
            seen[item] = True
            seq.append(item)
            prev = item
        start = int(rng.integers(1_600_000_000, 1_700_000_000))
        gaps = rng.exponential(3 * 86400, size=len(seq)).astype(np.int64) + 60
        sequences.append(np.array(seq))
        timestamps.append(start + np.cumsum(gaps))
    interactions = Interactions(user_ids=[f"U{u:05d}" for u in range(cfg.n_users)], sequences=sequences,
                                timestamps=timestamps)
    info = {"size": size, "seed": seed, "config": asdict(cfg), "leaves": [" > ".join(x) for x in leaves],
            "complement": complement.tolist(), "followups": [f.tolist() for f in followups]}
    return Dataset(name="synthetic", catalog=catalog, interactions=interactions, info=info)


def _leaf_mean(values: np.ndarray, leaf_of: np.ndarray, n_leaves: int) -> np.ndarray:
    """Each item's leaf-category mean of `values` (broadcast back to items)."""
    sums = np.bincount(leaf_of, weights=values, minlength=n_leaves)
    counts = np.maximum(1, np.bincount(leaf_of, minlength=n_leaves))
    return (sums / counts)[leaf_of]
