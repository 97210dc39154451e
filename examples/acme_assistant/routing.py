"""The router: ordered regex rules, then nearest-exemplar matching, then a fallback.

1. Rules (routing.yaml ``rules``) are tried in order; the first whose case-insensitive pattern
   matches decides.
2. Otherwise the request is compared with every exemplar (``exemplars: {route: [texts]}``) by
   TF-IDF cosine similarity; the vectorizer is fitted on the exemplars plus the corpus, so
   words the exemplars lack still count against a match. The best exemplar wins if its
   similarity is at least ``threshold``.
3. If the best similarity is below ``clarify_below`` the assistant asks a clarifying question;
   otherwise the ``fallback`` route is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from examples.acme_assistant.config import RoutingConfig
from examples.acme_assistant.corpus import load_corpus
from examples.acme_assistant.search import tokenize


@dataclass(frozen=True)
class RouteDecision:
    route: str
    via: str  # "rule:<name>", "exemplar", "clarify_below" or "fallback"
    similarity: float
    exemplar: str | None = None

    def as_output(self) -> dict[str, object]:
        out: dict[str, object] = {
            "route": self.route,
            "via": self.via,
            "similarity": round(self.similarity, 4),
        }
        if self.exemplar is not None:
            out["exemplar"] = self.exemplar
        return out


class Router:
    def __init__(self, config: RoutingConfig) -> None:
        self._config = config
        self._rules = [(rule, re.compile(rule.pattern, re.I)) for rule in config.rules]
        self._examples = [
            (route, text) for route, texts in sorted(config.exemplars.items()) for text in texts
        ]
        self._tfidf = _Tfidf(
            [text for _, text in self._examples]
            + [f"{doc.title} {doc.text}" for doc in load_corpus()]
        )
        self._matrix = (
            np.stack([self._tfidf.vector(text) for _, text in self._examples])
            if self._examples
            else None
        )
        self.route = lru_cache(maxsize=4096)(self._route)

    def _route(self, text: str) -> RouteDecision:
        for rule, pattern in self._rules:
            if pattern.search(text):
                return RouteDecision(rule.route, f"rule:{rule.name}", 1.0)
        best, exemplar, route = 0.0, None, None
        if self._matrix is not None:
            vector = self._tfidf.vector(text)
            sims = self._matrix @ vector
            index = int(np.argmax(sims))
            best, (route, exemplar) = float(sims[index]), self._examples[index]
        if route is not None and best >= self._config.threshold:
            return RouteDecision(route, "exemplar", best, exemplar)
        if best < self._config.clarify_below:
            return RouteDecision("clarify", "clarify_below", best, exemplar)
        return RouteDecision(self._config.fallback, "fallback", best, exemplar)


class _Tfidf:
    """Smoothed-idf, sublinear-tf, L2-normalised TF-IDF (as scikit-learn's, without its import
    cost: the router is built on every start of the agent)."""

    def __init__(self, texts: list[str]) -> None:
        docs = [set(tokenize(text)) for text in texts]
        vocab = sorted(set().union(*docs)) if docs else []
        self._index = {term: i for i, term in enumerate(vocab)}
        df = np.zeros(len(vocab))
        for terms in docs:
            for term in terms:
                df[self._index[term]] += 1
        self._idf = np.log((1 + len(docs)) / (1 + df)) + 1

    def vector(self, text: str) -> npt.NDArray[np.float64]:
        out: npt.NDArray[np.float64] = np.zeros(len(self._idf))
        for term in tokenize(text):
            i = self._index.get(term)
            if i is not None:
                out[i] += 1
        out = np.where(out > 0, 1 + np.log(np.maximum(out, 1)), 0) * self._idf
        norm = float(np.linalg.norm(out))
        return out / norm if norm else out
