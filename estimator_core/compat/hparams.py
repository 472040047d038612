"""`tf.contrib.training.HParams`, the name-value bag TPU-era scripts configure models with."""

from __future__ import annotations

import json
import numbers


class HParams:
    """Hyperparameters as attributes: `HParams(lr=0.1).lr`, `values()`, `parse("lr=0.2")`."""

    def __init__(self, hparam_def=None, model_structure=None, **kwargs):
        if hparam_def is not None:
            raise ValueError("HParams(hparam_def=...) (a protobuf) is not supported")
        self._model_structure = model_structure
        self._names: list[str] = []
        self._types: dict[str, tuple[type, bool]] = {}  # (the value's or its items' type, list?)
        for name, value in kwargs.items():
            self.add_hparam(name, value)

    def add_hparam(self, name: str, value) -> None:
        # contrib refused a name only while it held something: a hyperparameter whose value is
        # None could be added again (AmoebaNet's flag overrides do that for `num_shards`).
        if getattr(self, name, None) is not None:
            raise ValueError(f"hyperparameter {name!r} already exists (or is a method name)")
        if isinstance(value, (list, tuple)):
            if not value:
                raise ValueError(f"hyperparameter {name!r}: a list value cannot be empty")
            self._types[name] = (type(value[0]), True)
        else:
            self._types[name] = (type(value), False)
        if name not in self._names:
            self._names.append(name)
        setattr(self, name, value)

    def set_hparam(self, name: str, value) -> None:
        """Sets `name`, cast to the type it was added with (contrib's rules: an int becomes a
        float, a float never an int, nothing becomes a bool or a string)."""
        if name not in self._names:
            raise ValueError(f"unknown hyperparameter {name!r}; known: {sorted(self._names)}")
        kind, is_list = self._types[name]
        if isinstance(value, list) != is_list:
            raise ValueError(
                f"hyperparameter {name!r}: {value!r} must {'' if is_list else 'not '}be a list"
            )
        if is_list:
            value = [_cast(name, kind, item) for item in value]
        else:
            value = _cast(name, kind, value)
        setattr(self, name, value)

    def del_hparam(self, name: str) -> None:
        if name in self._names:
            self._names.remove(name)
            delattr(self, name)

    def override_from_dict(self, values: dict) -> HParams:
        for name, value in values.items():
            self.set_hparam(name, value)
        return self

    def parse(self, values: str) -> HParams:
        """Sets `name=value,...` pairs, each value read as the type the hyperparameter has."""
        for pair in filter(None, (p.strip() for p in values.split(","))):
            name, sep, text = pair.partition("=")
            if not sep:
                raise ValueError(f"HParams.parse: {pair!r} is not name=value")
            current = getattr(self, name.strip(), None) if name.strip() in self._names else None
            if isinstance(current, bool):
                value = text.strip().lower() in ("1", "true")
            elif isinstance(current, (int, float)):
                value = type(current)(text)
            else:
                value = text
            self.set_hparam(name.strip(), value)
        return self

    def values(self) -> dict:
        return {name: getattr(self, name) for name in self._names}

    def get(self, key: str, default=None):
        return getattr(self, key) if key in self._names else default

    def to_json(self, indent=None, separators=None, sort_keys=False) -> str:
        return json.dumps(self.values(), indent=indent, separators=separators, sort_keys=sort_keys)

    def __contains__(self, key: str) -> bool:
        return key in self._names

    def __repr__(self) -> str:
        return f"HParams({self.values()!r})"


def _cast(name: str, kind: type, value):
    """`value` as `kind` where contrib's HParams allowed it, else a ValueError naming both."""
    if type(value) is kind or kind is type(None):
        return value
    refused = (
        (issubclass(kind, (str, bytes)) and not isinstance(value, (str, bytes)))
        or issubclass(kind, bool) != isinstance(value, bool)
        or (issubclass(kind, numbers.Integral) and not isinstance(value, numbers.Integral))
        or (issubclass(kind, numbers.Number) and not isinstance(value, numbers.Number))
    )
    if refused:
        raise ValueError(
            f"hyperparameter {name!r} is a {kind.__name__}: cannot set it to {value!r}"
        )
    return kind(value)
