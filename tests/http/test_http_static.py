"""``http.static`` (pidflow/http/_routes.py StaticApp): files, index files, cache headers, SPA mode, 404, and how
static handlers and endpoints share a server."""

from __future__ import annotations

from typing import Any

from http_apps import APPS, app, py_endpoint, router, server


def static(name: str = "site", path: str = "/", **options: Any) -> dict[str, Any]:
    return {"name": name, "kind": "http.static", "meta": {"server": "gw"}, "path": path, "directory": "static",
            **({"static_options": options} if options else {})}


async def test_files_index_and_cache_headers(serving: Any) -> None:
    registry = app(server(), static(index="index.html", cache="public, max-age=3600"))
    async with serving(registry) as (_, client):
        script = await client.get("/app.js")
        assert script.status_code == 200 and script.text == (APPS / "static" / "app.js").read_text()
        assert script.headers["Cache-Control"] == "public, max-age=3600"
        assert "X-Request-ID" in script.headers
        home = await client.get("/")
        assert home.text == "<h1>home</h1>\n" and home.headers["Cache-Control"] == "public, max-age=3600"
        assert (await client.get("/sub/")).text == "<h1>sub</h1>\n"
        redirect = await client.get("/sub")
        assert redirect.status_code == 307 and redirect.headers["location"].endswith("/sub/")
        head = await client.head("/app.js")
        assert head.status_code == 200 and head.content == b""


async def test_a_missing_file_is_a_json_404_without_cache_header(serving: Any) -> None:
    async with serving(app(server(), static(index="index.html", cache="public, max-age=60"))) as (_, client):
        missing = await client.get("/nope.css", headers={"X-Request-ID": "r-static"})
        assert missing.status_code == 404
        assert missing.json() == {"error": "no route for GET /nope.css", "request_id": "r-static"}
        assert "Cache-Control" not in missing.headers
        assert (await client.get("/../pidflow_http_handlers.py")).status_code == 404
        assert (await client.post("/app.js")).status_code == 405


async def test_without_an_index_a_directory_is_404(serving: Any) -> None:
    async with serving(app(server(), static())) as (_, client):
        assert (await client.get("/")).status_code == 404
        assert "Cache-Control" not in (await client.get("/app.js")).headers


async def test_an_index_of_another_name_under_a_mount_path(serving: Any) -> None:
    async with serving(app(server(), static("docs", "/manual", index="home.html"))) as (_, client):
        assert (await client.get("/manual/docs/")).text == "<h1>docs home</h1>\n"
        assert (await client.get("/manual/app.js")).status_code == 200
        assert (await client.get("/app.js")).status_code == 404


async def test_spa_mode_answers_the_index_for_every_path_that_is_no_file(serving: Any) -> None:
    async with serving(app(server(), static(index="index.html", spa=True))) as (_, client):
        route = await client.get("/users/123")
        assert route.status_code == 200 and route.text == "<h1>home</h1>\n"
        assert (await client.get("/app.js")).text.startswith("console.log")


async def test_endpoints_win_over_a_static_handler_at_the_root(serving: Any) -> None:
    registry = app(server(), router(), py_endpoint("hello", "GET", "/hello/{name}", "hello"),
                   static(index="index.html", spa=True))
    async with serving(registry) as (_, client):
        assert (await client.get("/api/hello/ada")).json()["name"] == "ada"
        assert (await client.post("/api/hello/ada")).status_code == 405  # not the SPA's index
        assert (await client.get("/api/other")).text == "<h1>home</h1>\n"  # no endpoint there: the SPA
