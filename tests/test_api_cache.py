"""The API's read-response cache (ecobrain.api.http.cache) on a real decided graph: a repeated
read is answered from kept bytes with an ETag, ``If-None-Match`` gets 304, and no kept body
outlives what it was read from — a status change through the API or straight into the graph
(another process, the command line), a decision saved again, a re-decision. Keys and roles are
checked on every request, also when the body is kept; region-scoped keys read as before.
``ECOBRAIN_API_CACHE_MB=0`` keeps nothing and answers the same. A stamp that the graph does
not give in time (``ECOBRAIN_API_STAMP_TIMEOUT_MS``) is a miss answered by the route, and the
worker serves other requests meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from api_helpers import ApiClient, api_client
from kb_fixture import Decided, issue_all

from ecobrain.api.auth import KeyStore
from ecobrain.api.http.cache import Cached, ResponseCache, request_key
from ecobrain.ontology.graph.config import GraphSettings
from ecobrain.ontology.graph.embedded import EmbeddedServer, ServerInfo
from ecobrain.ontology.graph.falkordb_store import FalkorStore
from ecobrain.ontology.graph.store import GraphStoreError
from ecobrain.reasoning.decisions import store as decision_store
from ecobrain.reasoning.decisions import task_status

COUNTY, CITY, OTHER_CITY = "330102", "330100", "330400"


@pytest.fixture
def api(module_decided: Decided, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
        ) -> Iterator[ApiClient]:
    """An app (so an empty cache) of its own on the module's decided graph (approved)."""
    monkeypatch.delenv("ECOBRAIN_API_CACHE_MB", raising=False)
    issue_all(module_decided)
    with api_client(module_decided.store, tmp_path) as client:
        keys = KeyStore(tmp_path / "keys.json")
        client.keys["hz-bureau"] = keys.create("hz-bureau", ["commander"], [CITY])
        client.keys["jx-bureau"] = keys.create("jx-bureau", ["commander"], [OTHER_CITY])
        yield client


def _cache(api: ApiClient) -> ResponseCache:
    return api.client.app.state.response_cache  # type: ignore[attr-defined,no-any-return]


def _tasks(d: Decided, region: str) -> list[str]:
    return [t.id for t in d.outcome.decision.tasks if t.region_code == region]


def _urls(d: Decided, task_id: str) -> list[str]:
    did = d.decision_id
    return [f"/decisions/{did}", f"/decisions/{did}/tasks?region={COUNTY}&limit=500",
            f"/tasks/{task_id}"]


def test_a_repeated_read_is_the_same_bytes_with_an_etag_and_304_when_unchanged(
        api: ApiClient, module_decided: Decided) -> None:
    cache = _cache(api)
    for url in _urls(module_decided, _tasks(module_decided, COUNTY)[0]):
        first = api.get(url, "commander")
        assert first.status_code == 200, url
        etag = first.headers["etag"]
        assert etag.startswith('"') and first.headers["cache-control"] == "private, no-cache"
        assert first.headers["content-type"] == "application/json"
        hits = cache.hits
        again = api.get(url, "commander")
        assert again.status_code == 200 and again.content == first.content, url
        assert again.headers["etag"] == etag and cache.hits == hits + 1
        # a request whose parameters come in another order is the same request
        if "?" in url:
            path, query = url.split("?")
            swapped = api.get(path + "?" + "&".join(reversed(query.split("&"))), "commander")
            assert swapped.content == first.content and cache.hits == hits + 2
        not_modified = api.client.get(url, headers={**api.headers("commander"),
                                                    "If-None-Match": etag})
        assert not_modified.status_code == 304 and not_modified.content == b""
        assert not_modified.headers["etag"] == etag
        weak = api.client.get(url, headers={**api.headers("commander"),
                                            "If-None-Match": f'"other", W/{etag}'})
        assert weak.status_code == 304
        other = api.client.get(url, headers={**api.headers("commander"),
                                             "If-None-Match": '"not-this-one"'})
        assert other.status_code == 200 and other.content == first.content
    # the bodies are the routes' own: the decision's task page as declared
    page = api.get(_urls(module_decided, "x")[1], "commander").json()
    assert page["total"] == len(_tasks(module_decided, COUNTY)) and page["limit"] == 500
    assert len(cache) == 3


def test_the_key_and_role_are_checked_on_every_request_also_when_the_body_is_kept(
        api: ApiClient, module_decided: Decided, tmp_path: Path) -> None:
    for url in _urls(module_decided, _tasks(module_decided, COUNTY)[1]):
        body = api.get(url, "commander").content
        assert api.get(url, "commander").content == body  # kept now
        r = api.get(url)
        assert r.status_code == 401 and "missing" in r.json()["message"], url
        r = api.client.get(url, headers={"X-API-Key": "eb_nope"})
        assert r.status_code == 401 and "unknown" in r.json()["message"], url
        for role in ("expert", "investigator"):
            r = api.get(url, role)
            assert r.status_code == 403 and "needs one of: commander" in r.json()["message"]
        etag = api.get(url, "admin").headers["etag"]
        r = api.client.get(url, headers={"X-API-Key": api.keys["expert"],
                                         "If-None-Match": etag})
        assert r.status_code == 403  # not a 304 either: it would tell the body is unchanged
        assert api.get(url, "admin").content == body
    # a key revoked (by another process: the key file changes) is refused from the next request
    keys = KeyStore(tmp_path / "keys.json")
    token = keys.create("soon-gone", ["commander"])
    url = _urls(module_decided, "x")[0]
    assert api.client.get(url, headers={"X-API-Key": token}).status_code == 200
    assert keys.revoke("soon-gone")
    r = api.client.get(url, headers={"X-API-Key": token})
    assert r.status_code == 401 and "revoked" in r.json()["message"]


def test_region_scoped_keys_and_kept_bodies(api: ApiClient, module_decided: Decided) -> None:
    """The decision and its task pages are the province's shared picture: a city's key reads
    them whole, and a kept body is the same whoever reads it. A task's detail (its
    explanation) is scoped like its evidence chain (issue 14, finding 6): a body kept for a
    province key is never replayed to a key of another region."""
    did = module_decided.decision_id
    for url in (f"/decisions/{did}", f"/decisions/{did}/tasks?region={OTHER_CITY}"):
        scoped = api.get(url, "hz-bureau")
        assert scoped.status_code == 200, url
        assert api.get(url, "commander").content == scoped.content
        assert api.get(url, "jx-bureau").content == scoped.content
    url = f"/tasks/{_tasks(module_decided, OTHER_CITY)[0]}"
    body = api.get(url, "commander").content  # kept now
    assert api.get(url, "jx-bureau").content == body
    for _ in range(2):  # the kept body is not replayed to a key of another region
        r = api.get(url, "hz-bureau")
        assert r.status_code == 403 and "330400" in r.json()["message"]
    # what the scope limited before is unchanged: acting for another region's task
    r = api.patch(f"/tasks/{_tasks(module_decided, OTHER_CITY)[0]}/status", "hz-bureau",
                  json={"status": "received"})
    assert r.status_code == 403


def test_a_status_change_through_the_api_is_in_the_next_read(
        api: ApiClient, module_decided: Decided) -> None:
    tid = _tasks(module_decided, COUNTY)[2]
    did = module_decided.decision_id
    task_url, page_url, summary_url = (f"/tasks/{tid}", f"/decisions/{did}/tasks",
                                       f"/decisions/{did}")
    received = {"region": COUNTY, "status": "received", "limit": 500}
    before = [api.get(u, "commander", params=p) for u, p in (
        (task_url, {}), (page_url, received), (summary_url, {}))]
    assert [r.status_code for r in before] == [200, 200, 200]
    assert before[0].json()["status"] == "issued"
    assert tid not in [t["id"] for t in before[1].json()["items"]]
    received_before = before[2].json()["tasks_by_status"].get("received", 0)
    stamp = decision_store.decision_stamp(module_decided.store, did)

    assert api.patch(f"/tasks/{tid}/status", "commander",
                     json={"status": "received", "note": "已接收"}).status_code == 200
    assert decision_store.decision_stamp(module_decided.store, did) != stamp
    task = api.get(task_url, "commander")
    assert task.json()["status"] == "received" and task.json()["status_note"] == "已接收"
    assert task.headers["etag"] != before[0].headers["etag"]
    r = api.client.get(task_url, headers={**api.headers("commander"),
                                          "If-None-Match": before[0].headers["etag"]})
    assert r.status_code == 200 and r.json()["status"] == "received"
    assert tid in [t["id"] for t in api.get(page_url, "commander", params=received)
                   .json()["items"]]
    summary = api.get(summary_url, "commander").json()
    assert summary["tasks_by_status"]["received"] == received_before + 1


def test_a_status_change_made_straight_into_the_graph_is_in_the_next_read(
        api: ApiClient, module_decided: Decided) -> None:
    """Another worker, the command line or any other process writing through
    reasoning.task_status: the API process learns of it from the graph, not from a message."""
    store, did = module_decided.store, module_decided.decision_id
    tid, neighbour = _tasks(module_decided, COUNTY)[3:5]
    task_url, page_url = f"/tasks/{tid}", f"/decisions/{did}/tasks?region={COUNTY}&limit=500"
    neighbour_url = f"/tasks/{neighbour}?explain=false"
    for url in (task_url, page_url, neighbour_url, f"/decisions/{did}"):
        api.get(url, "commander")
    neighbour_stamp = decision_store.task_stamp(store, neighbour)

    task_status.update_status(store, tid, "received", by="cli", note="从命令行")
    task = api.get(task_url, "commander").json()
    assert (task["status"], task["status_by"], task["status_note"]) == ("received", "cli",
                                                                        "从命令行")
    page = {t["id"]: t for t in api.get(page_url, "commander").json()["items"]}
    assert page[tid]["status"] == "received"
    # another task's stamp is its own: its kept body stays valid (and is served)
    assert decision_store.task_stamp(store, neighbour) == neighbour_stamp
    hits = _cache(api).hits
    assert api.get(neighbour_url, "commander").json()["status"] == "issued"
    assert _cache(api).hits == hits + 1

    task_status.update_status(store, tid, "in_progress", by="cli")
    assert api.get(task_url, "commander").json()["status"] == "in_progress"
    assert {t["id"]: t for t in api.get(page_url, "commander").json()["items"]
            }[tid]["status"] == "in_progress"
    assert api.get(f"/decisions/{did}", "commander").json()["tasks_by_status"][
        "in_progress"] >= 1


def test_a_decision_saved_again_or_decided_again_is_read_anew(
        api: ApiClient, module_decided: Decided) -> None:
    from ecobrain.reasoning.decisions.persist import save_decision
    from ecobrain.reasoning.decisions.run_decision import decide_run

    store, did = module_decided.store, module_decided.decision_id
    decision = module_decided.outcome.decision
    summary_url = f"/decisions/{did}"
    kept = api.get(summary_url, "commander")
    assert api.get(summary_url, "commander").content == kept.content

    # saved again with a changed note (any save is a new revision)
    changed = decision.model_copy(update={"notes": [*decision.notes, "复核：补充说明"]})
    save_decision(store, changed)
    fresh = api.get(summary_url, "commander")
    assert "复核：补充说明" in fresh.json()["notes"]
    assert fresh.headers["etag"] != kept.headers["etag"]
    save_decision(store, decision)
    assert "复核：补充说明" not in api.get(summary_url, "commander").json()["notes"]

    # decided again: the tasks are saved again and their statuses put back
    tid = _tasks(module_decided, COUNTY)[5]
    task_url = f"/tasks/{tid}?explain=false"
    api.patch(f"/tasks/{tid}/status", "commander", json={"status": "received"})
    moved = api.get(task_url, "commander")
    assert moved.json()["status"] == "received"
    stamps = (decision_store.decision_stamp(store, did), decision_store.task_stamp(store, tid))
    misses = _cache(api).misses
    outcome = decide_run(store, module_decided.run_dir)
    assert outcome.existed and outcome.decision.id == did
    assert (decision_store.decision_stamp(store, did),
            decision_store.task_stamp(store, tid)) != stamps
    again = api.get(task_url, "commander")
    assert again.json()["status"] == "received" and _cache(api).misses == misses + 1
    page = api.get(f"/decisions/{did}/tasks", "commander",
                   params={"region": COUNTY, "status": "received", "limit": 500}).json()
    assert tid in [t["id"] for t in page["items"]]


def test_unknown_ids_bad_parameters_and_decisions_saved_before_revisions(
        api: ApiClient, module_decided: Decided) -> None:
    cache, store, did = _cache(api), module_decided.store, module_decided.decision_id
    for url in ("/decisions/dec-unknown", "/decisions/dec-unknown/tasks", "/tasks/task-nope"):
        for _ in range(2):
            r = api.get(url, "commander")
            assert r.status_code == 404 and url.split("/")[2] in r.json()["message"], url
    r = api.get(f"/decisions/{did}/tasks", "commander", params={"region": "hz"})
    assert r.status_code == 422 and "region" in r.json()["message"]
    r = api.get(f"/decisions/{did}/tasks", "commander", params={"limit": 0})
    assert r.status_code == 422 and "limit" in r.json()["message"]
    assert len(cache) == 0

    # a decision saved before revisions existed: read as always, never kept
    from ecobrain.reasoning.decisions.persist import revision_statement

    store.write("MATCH (d:Decision {id: $id}) REMOVE d.revision", {"id": did})
    try:
        assert decision_store.decision_stamp(store, did) is None
        tid = _tasks(module_decided, COUNTY)[0]
        assert decision_store.task_stamp(store, tid) is None
        for url in (f"/decisions/{did}", f"/tasks/{tid}?explain=false"):
            first, second = api.get(url, "commander"), api.get(url, "commander")
            assert first.status_code == second.status_code == 200
            assert first.content == second.content and first.headers["etag"]
            r = api.client.get(url, headers={**api.headers("commander"),
                                             "If-None-Match": first.headers["etag"]})
            assert r.status_code == 304
        assert len(cache) == 0 and cache.hits == 0
    finally:
        store.write_all([revision_statement(did)])
    assert decision_store.decision_stamp(store, did) is not None


def test_with_the_cache_off_every_read_is_built_and_still_current(
        module_decided: Decided, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECOBRAIN_API_CACHE_MB", "0")
    with api_client(module_decided.store, tmp_path) as api:
        cache = _cache(api)
        assert cache.max_bytes == 0
        tid = _tasks(module_decided, COUNTY)[6]
        url = f"/tasks/{tid}"
        first = api.get(url, "commander")
        assert first.status_code == 200 and first.json()["status"] == "issued"
        assert api.get(url, "commander").content == first.content
        r = api.client.get(url, headers={**api.headers("commander"),
                                         "If-None-Match": first.headers["etag"]})
        assert r.status_code == 304
        assert api.get(url, "expert").status_code == 403 and api.get(url).status_code == 401
        task_status.update_status(module_decided.store, tid, "received", by="cli")
        assert api.get(url, "commander").json()["status"] == "received"
        assert len(cache) == 0 and cache.hits == 0
    monkeypatch.setenv("ECOBRAIN_API_CACHE_MB", "lots")
    with pytest.raises(ValueError, match="ECOBRAIN_API_CACHE_MB"):
        ResponseCache.from_env()


def _server(settings: GraphSettings) -> ServerInfo:
    info = EmbeddedServer(settings.data_dir).status()
    assert info is not None
    return info


# A read the graph works on for seconds (81 million rows), ended by the server's own timeout.
SLOW_READ = "UNWIND range(1, 9000) AS a UNWIND range(1, 9000) AS b RETURN count(*) AS n"
SLOW_READ_MS = 4000


@pytest.mark.falkordb_only
def test_a_stamp_read_that_waits_is_a_miss_and_health_answers_meanwhile(
        module_decided: Decided, graph_settings: GraphSettings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's store has one async graph connection, held by a read the graph takes seconds
    over: a stamp read waits behind it, as behind a graph that does not answer."""
    monkeypatch.delenv("ECOBRAIN_API_CACHE_MB", raising=False)
    monkeypatch.setenv("ECOBRAIN_API_STAMP_TIMEOUT_MS", "100")
    info = _server(graph_settings)
    store = FalkorStore(info.host, info.port, module_decided.store.graph_name,
                        password=info.password, async_connections=1)
    watcher = redis.Redis(host=info.host, port=info.port, password=info.password,
                          decode_responses=True)
    try:
        with api_client(store, tmp_path) as api:
            cache = _cache(api)
            url = f"/tasks/{_tasks(module_decided, COUNTY)[3]}"
            kept = api.get(url, "commander")
            assert kept.status_code == 200 and api.get(url, "commander").content == kept.content
            hits = cache.hits
            assert hits >= 1 and cache.stamp_failures == 0
            assert api.client.portal is not None
            slow = api.client.portal.start_task_soon(
                lambda: store.aread(SLOW_READ, timeout_ms=SLOW_READ_MS))
            while not any("b" in c["flags"] and c["cmd"].lower() == "graph.ro_query"
                          for c in watcher.client_list()):  # the server is working on it
                assert not slow.done(), slow.exception()
                time.sleep(0.01)
            health = api.get("/health")
            assert health.status_code == 200 and health.json()["status"] == "ok"
            again = api.get(url, "commander")  # its stamp read waits for the connection
            assert not slow.done()  # both answered while the slow read held the connection
            assert again.status_code == 200 and again.content == kept.content
            assert again.headers["etag"] == kept.headers["etag"]
            # a miss built by the route: not from the kept body, the stamp given up once
            assert cache.hits == hits and cache.stamp_failures == 1
            with pytest.raises(GraphStoreError, match=r"(?i)timed out"):
                slow.result()
            assert api.get(url, "commander").content == kept.content  # kept again: a hit
            assert cache.hits == hits + 1 and cache.stamp_failures == 1
    finally:
        watcher.close()
        store.close()


@pytest.mark.falkordb_only
def test_a_stalled_graph_does_not_stall_the_worker(
        api: ApiClient, module_decided: Decided, graph_settings: GraphSettings) -> None:
    """The whole graph server paused (CLIENT PAUSE, as a long blocking save would): requests
    that need no graph are answered meanwhile; one whose stamp cannot be read gives up on the
    cache and is answered by the route once the graph is back — current, not the kept body."""
    cache = _cache(api)
    url = f"/tasks/{_tasks(module_decided, COUNTY)[4]}"
    kept = api.get(url, "commander")
    assert api.get(url, "commander").content == kept.content
    hits = cache.hits
    info = _server(graph_settings)
    with redis.Redis(host=info.host, port=info.port, password=info.password) as pauser:
        pauser.execute_command("CLIENT", "PAUSE", 1500, "ALL")
    answers: list[object] = []
    reader = threading.Thread(target=lambda: answers.append(api.get(url, "commander")))
    reader.start()
    time.sleep(0.3)  # let it reach its stamp read
    assert api.get(url).status_code == 401  # no key: no graph needed
    assert reader.is_alive()  # ... answered while that request waited for the graph
    reader.join()
    (again,) = answers
    assert again.status_code == 200 and again.content == kept.content  # type: ignore[attr-defined]
    assert cache.hits == hits and cache.stamp_failures == 1
    assert api.get(url, "commander").content == kept.content and cache.hits == hits + 1


def test_the_stamp_timeout_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECOBRAIN_API_STAMP_TIMEOUT_MS", raising=False)
    assert ResponseCache.from_env().stamp_timeout == pytest.approx(0.2)
    monkeypatch.setenv("ECOBRAIN_API_STAMP_TIMEOUT_MS", "50")
    assert ResponseCache.from_env().stamp_timeout == pytest.approx(0.05)
    for bad in ("soon", "0", "-5"):
        monkeypatch.setenv("ECOBRAIN_API_STAMP_TIMEOUT_MS", bad)
        with pytest.raises(ValueError, match=r"ECOBRAIN_API_STAMP_TIMEOUT_MS.*positive"):
            ResponseCache.from_env()


def test_the_cache_keeps_to_its_size_least_recently_used_first() -> None:
    cache = ResponseCache(20_000)

    def entry(stamp: str | None, size: int) -> Cached:
        return Cached(stamp, ("decision", "dec-x"), ("commander",), b"x" * size, '"e"')

    keys = [request_key(f"/tasks/t{i}", b"explain=false") for i in range(6)]
    for k in keys[:4]:
        cache.put(k, entry("s1", 4_000))
    assert len(cache) == 4 and cache.size <= 20_000
    assert cache.get(keys[0], "s1") is not None  # used: now the most recent
    cache.put(keys[4], entry("s1", 4_000))
    assert cache.peek(keys[1]) is None and cache.peek(keys[0]) is not None
    assert cache.size <= 20_000
    assert cache.get(keys[0], "s2") is None  # another stamp: not served
    cache.put(keys[5], entry(None, 10))  # no stamp: not kept
    cache.put(keys[5], entry("s1", 6_000))  # over a quarter of the budget: not kept
    assert cache.peek(keys[5]) is None
    # many small bodies count their keys too: the budget holds
    for i in range(1_000):
        cache.put(request_key("/decisions/dec-x/tasks", f"offset={i}".encode()), entry("s1", 2))
    assert cache.size <= 20_000 and len(cache) < 50
    assert request_key("/p", b"b=2&a=1&a=0") == request_key("/p", b"a=1&a=0&b=2")
    assert request_key("/p", b"a=1&a=0") != request_key("/p", b"a=0&a=1")
