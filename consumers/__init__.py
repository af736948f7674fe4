"""The hub's consumers, one integration a module. ``ALL`` is what ``hub run`` starts."""

from hub.runtime.registry import Consumer

ALL: list[Consumer] = []
