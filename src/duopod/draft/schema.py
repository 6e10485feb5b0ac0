"""The JSON schemas duopod asks models for, and the check of an answer against one.

A server that enforces ``response_format: json_schema`` (OpenAI, llama.cpp, vLLM) returns
JSON that follows the schema; one that does not returns whatever the model wrote. Either way
the answer is checked here, and what can be mended is: text over ``maxLength`` is cut, lists
over ``maxItems`` shortened, JSON wrapped in prose or a code fence unwrapped. The schemas
use a small subset (object, array, string, enum, required, maxLength, minItems, maxItems),
so this check is a page of code rather than a dependency."""

from __future__ import annotations

import json
import re
from typing import Any

from ..answers import AnswerError, read_json

JsonSchema = dict[str, Any]
"""A JSON schema of the subset above, as a server takes it in ``response_format``: literal
JSON, sent as it is, so kept as the dict it is (``mend`` reads it)."""

MAX_ANSWER = 2_000_000
"""Characters of a model's answer parsed at most (the chat engine reads no more bytes)."""


class SchemaError(ValueError):
    """The answer is not JSON that follows the schema, and cannot be mended."""


def parse_answer(text: str, schema: JsonSchema) -> Any:
    """The answer's JSON, mended to follow ``schema``; SchemaError when it cannot be."""
    value = _json_in(text)
    return mend(value, schema, "answer")


def _json_in(text: str) -> Any:
    stripped = text.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", stripped, re.DOTALL)
    candidates = [stripped, fenced.group(1) if fenced else ""]
    start = stripped.find("{")
    if start >= 0:
        candidates.append(stripped[start: stripped.rfind("}") + 1])
    refused: AnswerError | None = None
    for candidate in candidates:
        if candidate:
            try:
                return _loads(candidate)
            except AnswerError as exc:
                refused = refused if exc.garbled else exc
    if refused is not None:  # JSON, but too deep, too large or with numbers out of range
        raise SchemaError(refused.reason)
    salvaged = salvage(stripped[start:]) if start >= 0 else None
    if salvaged is not None:
        return salvaged
    raise SchemaError("not JSON" if not stripped else f"not JSON: {_preview(stripped)}")


def _loads(text: str) -> Any:
    """JSON within ``answers.read_json``'s bounds: a model's answer is a server's."""
    return read_json(text, "", "the answer", limit=MAX_ANSWER)


def _closing(prefix: str) -> str | None:
    """What closes the JSON ``prefix`` (open string, arrays, objects); None if malformed."""
    stack: list[str] = []
    in_string = escaped = False
    for char in prefix:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]" and (not stack or stack.pop() != char):
            return None
    return ('"' if in_string else "") + "".join(reversed(stack))


def salvage(text: str, attempts: int = 64) -> Any:
    """JSON cut off mid-way (a model stopped by ``max_tokens``): the longest prefix that
    closes into valid JSON, or None. What was cut is lost; what came before is kept."""
    cut = len(text)
    for _ in range(attempts):
        prefix = text[:cut].rstrip().rstrip(",:")
        closing = _closing(prefix)
        if closing is not None:
            try:
                return _loads(prefix + closing)
            except AnswerError:
                pass
        cut = max(text.rfind(",", 0, cut), text.rfind("}", 0, cut - 1) + 1,
                  text.rfind("]", 0, cut - 1) + 1)
        if cut <= 0:
            return None
    return None


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text[:60] + ("..." if len(text) > 60 else "")


def mend(value: Any, schema: JsonSchema, where: str) -> Any:
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            raise SchemaError(f"{where} is not an object")
        properties: dict[str, JsonSchema] = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                raise SchemaError(f"{where} has no {key!r}")
        return {key: mend(value[key], sub, f"{where}.{key}")
                for key, sub in properties.items() if key in value}
    if kind == "array":
        if not isinstance(value, list):
            raise SchemaError(f"{where} is not a list")
        items = value[: schema.get("maxItems", len(value))]
        if len(items) < schema.get("minItems", 0):
            raise SchemaError(f"{where} has {len(items)} items, fewer than "
                              f"{schema['minItems']}")
        return [mend(item, schema.get("items", {}), f"{where}[{i}]")
                for i, item in enumerate(items)]
    if kind == "string":
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise SchemaError(f"{where} is not text")
        if "enum" in schema and value not in schema["enum"]:
            raise SchemaError(f"{where} is {_preview(value)!r}, not one of "
                              f"{', '.join(schema['enum'])}")
        return value[: schema.get("maxLength", len(value))]
    return value


def schema_text(schema: JsonSchema) -> str:
    """The schema as the prompt of a server that cannot enforce it reads it."""
    return ("Answer with JSON only, no prose, following this JSON schema:\n"
            + json.dumps(schema, ensure_ascii=False))
