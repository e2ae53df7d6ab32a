"""OpenAI-compatible and Ollama-compatible chat endpoints.

Answers are derived deterministically (``sim.rng``) from the prompt: a valid
redesign concept that covers every problem code named in the prompt, or, when
the request's schema asks for ``same_business`` (dedupe's gray-zone judge), a
verdict on the two JSON records in the user message. With the family's
``garbage_rate`` the answer is garbage instead: prose that is not JSON, JSON of
the wrong shape, or (concepts only) a schema-valid concept laced with script,
event handlers and an external image.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiohttp import web

from schemas.concept import PROBLEM_CODES
from simulator.core import Simulator

OLLAMA_MODELS = ("llama3.1:latest", "llama3.2:latest", "qwen2.5:7b")
_PROBLEM_RE = re.compile(r"\b(" + "|".join(PROBLEM_CODES) + r")\b")
_NAME_NOISE = {"the", "and", "of", "llc", "inc", "co", "company", "corp", "ltd", "services", "service"}
PALETTES = (
    ("#1f4e79", "#2e86c1", "#f39c12", "#f8f9fa", "#1b2631"),
    ("#0b5345", "#17a589", "#f4d03f", "#fdfefe", "#17202a"),
    ("#4a235a", "#8e44ad", "#f5b041", "#fbfcfc", "#1c1c1c"),
    ("#7b241c", "#c0392b", "#f7dc6f", "#fffaf5", "#212121"),
    ("#1c2833", "#566573", "#48c9b0", "#f4f6f7", "#1c2833"),
)
FIXES = {
    "slow_lcp": (
        "Your homepage will show its main content in under two seconds, so fewer visitors give up and leave.",
        "We trim what blocks the first screen, so {name} loads fast even on a weak phone signal.",
    ),
    "heavy_page": (
        "Images are compressed and resized, cutting page weight so it opens quickly on mobile data.",
        "A much lighter page: modern image formats and no unused code weighing it down.",
    ),
    "outdated_jquery": (
        "The outdated jQuery library is replaced with modern code that gets security fixes.",
        "Old jQuery with known vulnerabilities goes away; the site runs on current, maintained code.",
    ),
    "outdated_cms": (
        "Your site moves to a current, patched platform instead of an outdated WordPress release.",
        "An up-to-date content system with automatic security updates keeps {name} safe.",
    ),
    "not_mobile_friendly": (
        "A responsive layout that fits every phone, with large tap-friendly buttons.",
        "Most of your visitors are on phones; the new design is built for them first.",
    ),
    "no_https": (
        "HTTPS everywhere, so browsers stop showing a 'Not secure' warning to your customers.",
        "A secure connection builds trust and helps your ranking in search results.",
    ),
    "no_contact_form": (
        "A simple contact form and click-to-call button on every page turn visitors into leads.",
        "Customers can reach {name} in one tap, from any page.",
    ),
    "no_website": (
        "A professional site of your own, so people searching in {city} find {name} first.",
        "Your own website puts your services, hours and reviews in front of local customers.",
    ),
}


def setup(app: web.Application, sim: Simulator) -> None:
    """Add /v1/chat/completions, /api/chat and /api/tags routes."""
    app.router.add_post("/v1/chat/completions", partial(_openai_chat, sim=sim))
    app.router.add_post("/api/chat", partial(_ollama_chat, sim=sim))
    app.router.add_get("/api/tags", partial(_ollama_tags, sim=sim))


async def _openai_chat(request: web.Request, *, sim: Simulator) -> web.Response:
    auth = request.headers.get("Authorization", "")
    body = await _json_body(request)  # read before the simulated latency, as a real server would
    error = await sim.fault("openai", auth[-8:])
    if error is not None:
        return error
    if not auth.startswith("Bearer ") or not auth[7:].strip():
        return _openai_error(401, "Missing bearer authentication in header", "invalid_api_key")
    if not isinstance(body, dict) or not body.get("model") or not isinstance(body.get("messages"), list):
        return _openai_error(400, "model and messages are required", "invalid_request")
    fmt = body.get("response_format") or {"type": "text"}
    if not isinstance(fmt, dict):
        return _openai_error(400, "response_format must be an object", "invalid_request")
    schema = fmt.get("json_schema", {}).get("schema") if fmt.get("type") == "json_schema" else None
    content, purpose, garbage = _answer(
        sim,
        "openai",
        _user_text(body["messages"]),
        schema,
        structured=fmt.get("type") in ("json_schema", "json_object"),
    )
    sim.record("llm", family="openai", model=body["model"], purpose=purpose, garbage=garbage)
    prompt_tokens = sum(len(str(m.get("content", ""))) for m in body["messages"] if isinstance(m, dict)) // 4 + 1
    completion_tokens = len(content) // 4 + 1
    rng = sim.rng("openai-id", content)
    return web.json_response(
        {
            "id": f"chatcmpl-sim{rng.getrandbits(64):016x}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "system_fingerprint": "fp_simulator",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


async def _ollama_chat(request: web.Request, *, sim: Simulator) -> web.StreamResponse:
    body = await _json_body(request)
    model = body.get("model", "") if isinstance(body, dict) else ""
    error = await sim.fault("ollama", model)
    if error is not None:
        return error
    if not model or not isinstance(body.get("messages"), list):
        return web.json_response({"error": "model and messages are required"}, status=400)
    fmt = body.get("format")
    schema = fmt if isinstance(fmt, dict) else None
    content, purpose, garbage = _answer(sim, "ollama", _user_text(body["messages"]), schema, structured=bool(fmt))
    sim.record("llm", family="ollama", model=model, purpose=purpose, garbage=garbage)
    final = {
        "model": model,
        "created_at": datetime.now(UTC).isoformat(),
        "message": {"role": "assistant", "content": content},
        "done": True,
        "done_reason": "stop",
        "total_duration": 2_000_000,
        "load_duration": 100_000,
        "prompt_eval_count": len(json.dumps(body["messages"])) // 4 + 1,
        "prompt_eval_duration": 500_000,
        "eval_count": len(content) // 4 + 1,
        "eval_duration": 1_400_000,
    }
    if body.get("stream") is False:
        return web.json_response(final)
    # Ollama streams NDJSON unless told otherwise: a few content chunks, then the final summary.
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    step = max(1, len(content) // 3 + 1)
    for start in range(0, len(content), step):
        chunk = {
            "model": model,
            "created_at": final["created_at"],
            "done": False,
            "message": {"role": "assistant", "content": content[start : start + step]},
        }
        await response.write(json.dumps(chunk).encode() + b"\n")
        await asyncio.sleep(0)
    await response.write(json.dumps({**final, "message": {"role": "assistant", "content": ""}}).encode() + b"\n")
    await response.write_eof()
    return response


async def _ollama_tags(request: web.Request, *, sim: Simulator) -> web.Response:
    error = await sim.fault("ollama", "tags")
    if error is not None:
        return error
    return web.json_response(
        {
            "models": [
                {
                    "name": name,
                    "model": name,
                    "modified_at": "2025-01-01T00:00:00Z",
                    "size": 4_700_000_000,
                    "digest": f"{sim.rng('digest', name).getrandbits(128):032x}",
                    "details": {
                        "format": "gguf",
                        "family": name.split(":")[0],
                        "parameter_size": "8B",
                        "quantization_level": "Q4_K_M",
                    },
                }
                for name in OLLAMA_MODELS
            ]
        }
    )


def _openai_error(status: int, message: str, code: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}, status=status
    )


async def _json_body(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _user_text(messages: list[Any]) -> str:
    """The user turns' text (content may be a string or a list of typed parts)."""
    texts = []
    for message in messages:
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content", "")
        if isinstance(content, list):
            content = "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        texts.append(str(content))
    return "\n".join(texts)


def _answer(
    sim: Simulator, family: str, prompt: str, schema: dict | None, *, structured: bool
) -> tuple[str, str, str | None]:
    """(content, purpose, garbage kind or None) for one chat request."""
    judge = bool(schema) and "same_business" in (schema.get("properties") or {})
    purpose = "same_business" if judge else "concept"
    draw = sim.rng("llm-garbage", family, sim.counters[f"{family}.requests"])
    if draw.random() < sim.config.family(family).garbage_rate:
        kind = draw.choice(("not_json", "wrong_shape") if judge else ("not_json", "wrong_shape", "malicious"))
        return _garbage(kind, prompt, sim), purpose, kind
    if judge:
        return json.dumps(_judge(prompt)), purpose, None
    if not structured:
        concept = _concept(prompt, sim)
        return f"{concept['headline']}. {concept['subheadline']}", purpose, None
    return json.dumps(_concept(prompt, sim)), purpose, None


def _json_objects(text: str) -> list[Any]:
    """Every top-level JSON object or array embedded in free text."""
    decoder, found, index = json.JSONDecoder(), [], 0
    while index < len(text):
        if text[index] in "{[":
            try:
                value, end = decoder.raw_decode(text, index)
            except json.JSONDecodeError:
                index += 1
                continue
            found.append(value)
            index = end
        else:
            index += 1
    return found


def _concept(prompt: str, sim: Simulator) -> dict[str, Any]:
    business = next((o for o in _json_objects(prompt) if isinstance(o, dict) and o.get("name")), {})
    name = str(business.get("name") or "Your business")
    city = str(business.get("city") or "your area")
    trade = str(business.get("vertical") or "local service").replace("_", " ")
    problems = list(dict.fromkeys(_PROBLEM_RE.findall(prompt)))
    rng = sim.rng("concept", prompt)
    headline = rng.choice(
        (
            f"{name}: {city}'s trusted {trade} team",
            f"Fast, friendly {trade} in {city}",
            f"{trade.title()} done right, by {name}",
        )
    )
    kinds = ["hero", "services", "about"] + rng.sample(["testimonials", "faq", "gallery"], rng.randint(0, 2))
    kinds += ["contact", "cta"] if rng.random() < 0.5 else ["contact"]
    bodies = {
        "hero": [f"Serving {city} and nearby neighborhoods.", "Licensed, insured and on time."],
        "services": [
            f"Everyday {trade} work, done properly",
            "Emergency visits when you need them",
            "Clear, upfront quotes before any work starts",
        ],
        "about": [f"{name} is a local, family-run business.", f"Years of {trade} experience in {city}."],
        "testimonials": ['"Quick, tidy and fairly priced." (a neighbor)', '"They explained everything." (a customer)'],
        "faq": ["Do you give free estimates? Yes, always.", "Which areas do you cover? All of " + city + "."],
        "gallery": ["Recent projects, before and after."],
        "contact": ["Call or send a message, we answer the same day.", f"Visit us in {city}."],
        "cta": ["Book your visit today, it only takes a minute."],
    }
    titles = {
        "hero": headline,
        "services": "What we do",
        "about": f"About {name}",
        "testimonials": "What customers say",
        "faq": "Questions",
        "gallery": "Our work",
        "contact": "Get in touch",
        "cta": "Ready when you are",
    }
    primary, secondary, accent, background, text = rng.choice(PALETTES)
    return {
        "headline": headline,
        "subheadline": f"Reliable {trade} for homes and businesses in {city}, with honest prices and quick replies.",
        "sections": [{"kind": k, "title": titles[k], "bullets": bodies[k]} for k in kinds],
        "palette": {
            "primary": primary,
            "secondary": secondary,
            "accent": accent,
            "background": background,
            "text": text,
        },
        "typography": rng.choice(("modern-sans", "classic-serif", "friendly-rounded", "bold-condensed", "humanist")),
        "call_to_action": rng.choice(
            (
                {"label": "Get a free quote", "kind": "quote"},
                {"label": "Call us now", "kind": "call"},
                {"label": "Book a visit", "kind": "book"},
            )
        ),
        "improvements": [{"problem": p, "text": rng.choice(FIXES[p]).format(name=name, city=city)} for p in problems],
    }


def _garbage(kind: str, prompt: str, sim: Simulator) -> str:
    if kind == "not_json":
        return "Sure! Here is a fresh concept for the website:\n\n**Headline:** Quality you can trust\n- Fast pages\n- Mobile first"
    if kind == "wrong_shape":
        return json.dumps({"title": "New website", "content": ["Fast", "Modern"], "colors": "blue and white"})
    concept = _concept(prompt, sim)
    concept["headline"] += "<script>alert(1)</script>"
    concept["subheadline"] = '<b onmouseover="alert(2)">Great</b> service ' + concept["subheadline"]
    concept["sections"][1]["bullets"].append('<img src="https://evil.example/x.png" onerror="alert(3)">See our work')
    concept["sections"][-1]["bullets"].append(
        '<a href="javascript:alert(4)">Contact</a><iframe src="https://evil.example/"></iframe>'
    )
    for improvement in concept["improvements"]:
        improvement["text"] += '<span style="background:url(https://evil.example/t.gif)">!</span>'
    return json.dumps(concept)


def _judge(prompt: str) -> dict[str, Any]:
    records = [o for o in _json_objects(prompt) if isinstance(o, dict)]
    if len(records) == 1 and sum(isinstance(v, dict) for v in records[0].values()) >= 2:
        records = [v for v in records[0].values() if isinstance(v, dict)]
    if len(records) < 2:
        return {"same_business": False, "confidence": 0.5}
    first, second = records[0], records[1]
    phone_a, phone_b = _phone_digits(first), _phone_digits(second)
    names_a, names_b = _name_tokens(first), _name_tokens(second)
    if phone_a and phone_a == phone_b:
        return {"same_business": True, "confidence": 0.95}
    if names_a and names_a == names_b:
        return {"same_business": True, "confidence": 0.9}
    overlap = len(names_a & names_b) / len(names_a | names_b) if names_a and names_b else 0.0
    if overlap < 0.2 and (not phone_a or not phone_b or phone_a != phone_b):
        return {"same_business": False, "confidence": 0.9}
    return {"same_business": overlap >= 0.5, "confidence": 0.5}


def _phone_digits(record: dict) -> str:
    digits = "".join(
        ch for key, value in record.items() if "phone" in key.lower() for ch in str(value or "") if ch.isdigit()
    )
    return digits[-10:]


def _name_tokens(record: dict) -> set[str]:
    name = record.get("name") or next((v for k, v in record.items() if "name" in k.lower() and v), "")
    return set(re.findall(r"[a-z0-9]+", str(name).lower())) - _NAME_NOISE
