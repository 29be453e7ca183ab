"""Semantic IDs: item embeddings -> short code tuples (TIGER §3.1) and the tools to decode them.

    from llmrec_mini.semantic_ids import SIDVocab, build_semantic_ids
    sids = build_semantic_ids(embeddings, method="rqvae", levels=3, codebook_size=256)
    sids.code_of(0), sids.item_of((7, 1, 4, 0))
    vocab = SIDVocab(sids, specials=("<pad>", "</s>"))      # token ids: vocab.encode(items), vocab.decode(tokens)
    vocab.constraint().for_batch(num_beams=20)                # a logits processor for generate()

Modules, in dependency order: `stats` (codebook usage, collisions), `table` (`SemanticIDs`, the item
<-> code table), `rqvae` and `rq_kmeans` (quantizers), `sid_v2` (PLUM's fused, multi-resolution tokenizer), `build` (the factory, random and LSH
ablations, the collision token, SID-v2), `trie` (prefix constraints), `vocab` (`SIDVocab`, the token layout).
torch is imported only when an RQ-VAE is built.
"""
from .build import METHODS, SIDConfig, add_collision_token, build_semantic_ids, build_sid_v2, lsh_codes, random_codes
from .stats import collision_stats, level_stats, sid_report
from .table import SemanticIDs, prefix_keys
from .trie import PrefixTrie, TrieConstraint, prefix_allowed_tokens_fn
from .vocab import SIDVocab

__all__ = ["METHODS", "SIDConfig", "SemanticIDs", "SIDVocab", "build_semantic_ids", "build_sid_v2", "add_collision_token", "random_codes",
           "lsh_codes", "collision_stats", "level_stats", "sid_report", "prefix_keys", "PrefixTrie", "TrieConstraint",
           "prefix_allowed_tokens_fn"]
