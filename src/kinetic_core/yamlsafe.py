"""The one YAML loader of the project: PyYAML's safe loader, bounded, strict about duplicate keys.

Every YAML file the project reads (pipeline configs, mapping files, emulator schema files) goes through
:func:`load_yaml`. On top of ``yaml.SafeLoader`` (no Python objects) it refuses:

* an alias to an anchor that is still open (a recursive structure, which ends in ``RecursionError``);
* aliases that expand to more than :data:`MAX_ALIAS_EXPANSION` nodes in all, or more than
  :data:`MAX_ALIASES` of them (a "billion laughs" document of a few hundred bytes expands to gigabytes);
* nesting deeper than :data:`MAX_DEPTH`;
* a key repeated in one mapping (PyYAML keeps the last one silently); keys merged in with ``<<`` may
  still be overridden, as YAML intends.

Each refusal is a ``yaml.MarkedYAMLError`` naming the source, line and column (and the key), so callers
that already catch ``yaml.YAMLError`` report it as any other syntax error.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_ALIASES = 100
MAX_ALIAS_EXPANSION = 10_000
MAX_DEPTH = 100
_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlLimitError(yaml.MarkedYAMLError):
    """A document the bounded loader refuses (recursion, alias expansion, depth, duplicate key)."""


class BoundedSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with the bounds and the duplicate-key check described in the module doc."""

    def __init__(self, stream: str, source: str = "<text>") -> None:
        super().__init__(stream)
        self.name = source
        self._aliases = 0
        self._expansion = 0
        self._depth = 0
        self._open: set[str] = set()
        self._sizes: dict[int, int] = {}

    def _refuse(self, problem: str, node_or_event: Any) -> YamlLimitError:
        return YamlLimitError(problem=problem, problem_mark=node_or_event.start_mark)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            anchor = str(event.anchor)
            if anchor in self._open:
                raise self._refuse(f"recursive alias *{anchor} (refers to a node that contains it)", event)
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise self._refuse(f"more than {MAX_ALIASES} aliases", event)
            node = super().compose_node(parent, index)
            if node is not None:
                self._expansion += self._sizes.get(id(node), 1)
                if self._expansion > MAX_ALIAS_EXPANSION:
                    raise self._refuse(
                        f"aliases expand to more than {MAX_ALIAS_EXPANSION} nodes (like a 'billion laughs')",
                        event,
                    )
            return node
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise self._refuse(f"nested more than {MAX_DEPTH} levels deep", self.peek_event())  # type: ignore[no-untyped-call]
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is not None:
            self._sizes[id(node)] = self._size(node)
        return node

    def _size(self, node: Node) -> int:
        if isinstance(node, ScalarNode):
            return 1
        if isinstance(node, SequenceNode):
            return 1 + sum(self._sizes.get(id(child), 1) for child in node.value)
        if isinstance(node, MappingNode):
            return 1 + sum(self._sizes.get(id(k), 1) + self._sizes.get(id(v), 1) for k, v in node.value)
        return 1

    def compose_sequence_node(self, anchor: Any) -> Any:
        return self._composing(anchor, super().compose_sequence_node)

    def compose_mapping_node(self, anchor: Any) -> Any:
        return self._composing(anchor, super().compose_mapping_node)

    def _composing(self, anchor: str | None, compose: Any) -> Any:
        if anchor is None:
            return compose(anchor)
        self._open.add(anchor)
        try:
            return compose(anchor)
        finally:
            self._open.discard(anchor)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, Node] = {}
            for key_node, _value in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                except TypeError:  # an unhashable key: the base class reports it
                    continue
                if duplicate:
                    first = seen[key].start_mark
                    raise YamlLimitError(
                        context=f"while reading a mapping (key {key!r} first at line {first.line + 1})",
                        context_mark=node.start_mark,
                        problem=f"duplicate key {key!r}",
                        problem_mark=key_node.start_mark,
                    )
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, source: str = "<text>") -> Any:
    """Parse one YAML document with :class:`BoundedSafeLoader`; errors name ``source`` and the line.

    Raises:
        yaml.YAMLError: invalid YAML or a refused document (:class:`YamlLimitError`).

    Example:
        >>> load_yaml("a: 1\\nb: [x, y]\\n")
        {'a': 1, 'b': ['x', 'y']}
        >>> load_yaml("a: 1\\na: 2\\n", "f.yaml")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        kinetic_core.yamlsafe.YamlLimitError: while reading a mapping (key 'a' first at line 1)
        ...
    """
    loader = BoundedSafeLoader(text, source)
    try:
        return loader.get_single_data()
    except RecursionError:
        raise YamlLimitError(problem=f"{source}: nested too deeply to read") from None
    finally:
        loader.dispose()
