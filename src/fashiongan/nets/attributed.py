"""What a generator conditioned on an attribute vector shares, whatever draws its images (the cVAEs, flow):
the vocabulary (columns and their values), the prior over the attribute combinations the data holds, requests
by name, and completion of a partial request from that prior.

``attribute_set`` names a built-in set (``offline``: the offline attribute set's 30 multi-hot outputs of
category, group, colour and tone) or None; a user's catalogue brings ``vocabulary`` ({columns, values}, from
its folder names or styles.csv) and ``prior`` ({items: the on-indices of each attribute combination the data
holds, weights: its share}) instead, both written by training from the data. The prior travels in the
checkpoint as buffers (``prior_vectors``, ``prior_weights``), so a request naming some columns ("colour=navy")
is completed by a draw among the items the data holds that agree with it, and a request naming none draws
items as the data has them. An all-zero vector is no item: flow matching uses it as the dropped condition.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from fashiongan.data import attributes as offline
from fashiongan.data.folders import AttributeVocabulary

ATTRIBUTE_SETS: dict[str, tuple[Callable[[], AttributeVocabulary], Callable[[], tuple[np.ndarray, np.ndarray]]]] = {
    "offline": (offline.vocabulary, offline.prior),
}


def _catalogue_prior(vocabulary: AttributeVocabulary, prior: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """A catalogue's prior as (multi-hot vectors (K, A), weights (K,)) from its stored {items, weights}."""
    if not isinstance(prior, dict) or not prior.get("items") or len(prior["items"]) != len(prior.get("weights", ())):
        raise ValueError("a vocabulary needs its prior: {items: [[on-indices], ...], weights: [share, ...]} of equal length")
    vectors = np.zeros((len(prior["items"]), len(vocabulary.names)), dtype=np.float32)
    for row, on in enumerate(prior["items"]):
        vectors[row, list(on)] = 1
    return vectors, np.asarray(prior["weights"], dtype=np.float32)


class Attributed:
    """A mixin for an ``nn.Module`` generator: call ``init_attributes`` in its ``__init__`` (after
    ``nn.Module.__init__``); ``num_attributes`` is then the vector's length (0: it takes none)."""

    attribute_set: str | None
    num_attributes: int
    prior_vectors: torch.Tensor
    prior_weights: torch.Tensor

    def init_attributes(self, attribute_set: str | None, vocabulary: dict | None, prior: dict | None) -> None:
        if attribute_set is not None and attribute_set not in ATTRIBUTE_SETS:
            raise ValueError(f"attribute_set must be one of {', '.join(ATTRIBUTE_SETS)} or None, got {attribute_set!r}")
        if attribute_set is not None and vocabulary is not None:
            raise ValueError("give attribute_set (a built-in set) or vocabulary (a catalogue's), not both")
        self.attribute_set = attribute_set
        self._vocabulary = AttributeVocabulary.from_dict(vocabulary) if vocabulary is not None else None
        with torch.device("cpu"):  # the prior is data, computed on the CPU even when the net is built elsewhere (meta)
            vectors, weights = (ATTRIBUTE_SETS[attribute_set][1]() if attribute_set
                                else _catalogue_prior(self._vocabulary, prior) if vocabulary is not None
                                else (np.zeros((0, 0)), np.zeros(0)))
        self.register_buffer("prior_vectors", torch.as_tensor(vectors, dtype=torch.float32))  # type: ignore[attr-defined]
        self.register_buffer("prior_weights", torch.as_tensor(weights, dtype=torch.float32))  # type: ignore[attr-defined]
        self.num_attributes = int(self.prior_vectors.shape[1])

    @property
    def vocabulary(self) -> AttributeVocabulary | None:
        return ATTRIBUTE_SETS[self.attribute_set][0]() if self.attribute_set else self._vocabulary

    def checked_attributes(self, attributes: torch.Tensor | None, n: int) -> torch.Tensor | None:
        """``attributes``, after checking they are given, one row per item, exactly when the net takes them."""
        if not self.num_attributes:
            if attributes is not None:
                raise ValueError("this net takes no attributes")
            return None
        if attributes is None or tuple(attributes.shape) != (n, self.num_attributes):
            got = None if attributes is None else tuple(attributes.shape)
            raise ValueError(f"this net needs attributes of shape ({n}, {self.num_attributes}), got {got}")
        return attributes

    @property
    def column_sizes(self) -> list[int]:
        vocabulary = self.vocabulary
        return [len(values) for values in vocabulary.values] if vocabulary else []

    def request(self, pairs: Sequence[str]) -> torch.Tensor:
        """``["category=dress", "colour=navy"]`` -> a partial multi-hot (num_attributes,); unknown names and
        values are one-line errors listing what exists."""
        if not self.num_attributes:
            raise ValueError("this net takes no attributes")
        return torch.from_numpy(offline.parse_request(list(pairs), self.vocabulary))

    def complete(
        self, attributes: torch.Tensor | np.ndarray | None, n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Full attribute vectors (n, num_attributes): each row of ``attributes`` (one (A,) row for every image
        or (n, A); None names nothing) with its unnamed columns (all zero) drawn from the prior among the
        items that agree with its named ones. ValueError when no item agrees (``category=dress, group=shoes``)."""
        if not self.num_attributes:
            raise ValueError("this net takes no attributes")
        vectors = self.prior_vectors
        size = self.num_attributes
        partial = torch.zeros(size) if attributes is None else torch.as_tensor(attributes, dtype=torch.float32)
        partial = partial.to(vectors.device)
        if partial.dim() == 1:
            partial = partial.expand(n, -1)
        if tuple(partial.shape) != (n, size):
            raise ValueError(f"attributes must have shape ({size},) or ({n}, {size}), got {tuple(partial.shape)}")
        if not ((partial == 0) | (partial == 1)).all():
            raise ValueError("attributes must be multi-hot: every entry 0 or 1")
        named = torch.cat([block.any(1, keepdim=True).expand_as(block) for block in partial.split(self.column_sizes, 1)], 1)
        agree = ((vectors[None] == partial[:, None]) | ~named[:, None]).all(2)
        weights = self.prior_weights.float()[None] * agree
        empty = (weights.sum(1) == 0).nonzero()
        if len(empty):
            row = partial[int(empty[0])]
            asked = " and ".join(name for name, on in zip(self.vocabulary.names, row.tolist()) if on)
            raise ValueError(f"no item of the training data is {asked}")
        where = generator.device if generator is not None else vectors.device
        chosen = torch.multinomial(weights.to(where), 1, generator=generator).squeeze(1).to(vectors.device)
        return vectors[chosen]

    def values(self, vectors: torch.Tensor, column: str) -> torch.Tensor | None:
        """Index of each vector's value in ``column`` (LongTensor (n,)), or None when the set has no such column."""
        vocabulary = self.vocabulary
        if vocabulary is None or column not in vocabulary.columns:
            return None
        return vectors.split(self.column_sizes, 1)[vocabulary.columns.index(column)].argmax(1)
