"""Semantic IDs: item embeddings -> short code tuples (TIGER §3.1) and the tools to decode them.

    from llmrec_mini.semantic_ids import build_semantic_ids
    sids = build_semantic_ids(embeddings, method="rqvae", levels=3, codebook_size=256)
    sids.code_of(0), sids.item_of((7, 1, 4, 0)), sids.to_tokens(0, token_offset=3), sids.trie()

Modules: `rqvae` (RQ-VAE), `rq_kmeans` (residual k-means), `ids` (collision token, item <-> code
tables, random and LSH ablations, the factory), `trie` (prefix constraints for generation).
torch is imported only when an RQ-VAE is built.
"""
from .ids import METHODS, SemanticIDs, add_collision_token, build_semantic_ids, collision_stats, level_stats
from .trie import PrefixTrie, TrieConstraint, prefix_allowed_tokens_fn

__all__ = ["METHODS", "SemanticIDs", "build_semantic_ids", "add_collision_token", "collision_stats", "level_stats",
           "PrefixTrie", "TrieConstraint", "prefix_allowed_tokens_fn"]
