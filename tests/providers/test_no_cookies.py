"""Website clients keep no cookies, and spend nothing on them: Set-Cookie is never parsed."""

from __future__ import annotations

import httpx

from providers.http import NoCookies, make_client


async def test_a_client_without_cookies_neither_keeps_nor_sends_nor_parses_them(monkeypatch):
    def app(request: httpx.Request) -> httpx.Response:
        assert "cookie" not in request.headers
        return httpx.Response(200, headers={"Set-Cookie": "session=abc; Path=/"}, text="ok")

    client = make_client(keep_cookies=False)
    client._transport = httpx.MockTransport(app)
    parsed = []
    monkeypatch.setattr(httpx.Cookies, "extract_cookies", lambda self, response: parsed.append(response))
    async with client:
        assert isinstance(client.cookies, NoCookies)
        for _ in range(2):
            assert (await client.get("http://site.example/")).text == "ok"
        assert len(client.cookies) == 0 and not parsed


async def test_api_clients_still_keep_cookies():
    client = make_client()
    client._transport = httpx.MockTransport(lambda request: httpx.Response(200, headers={"Set-Cookie": "a=1"}))
    async with client:
        await client.get("http://api.example/")
        assert client.cookies.get("a") == "1"
