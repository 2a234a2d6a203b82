"""The read-only HSDS 3.0 API (/api/hsds): checked by hand on the demo directory, and by
schemathesis against the specification's own schema/openapi.json (../shared/peer/hsds)."""

from __future__ import annotations

import copy
import json

import pytest

from core.db import get_engine
from sociale_kaart.importer import DEMO_FILE, import_file
from tests.conftest import need_shared

# The operations the API serves (the specification also has /organizations and
# /service_at_locations, which it does not serve yet).
SERVED = (
    "/",
    "/services",
    "/services/{id}",
    "/taxonomies",
    "/taxonomies/{id}",
    "/taxonomy_terms",
    "/taxonomy_terms/{id}",
)


@pytest.fixture
def directory_app(app, settings):
    assert import_file(DEMO_FILE, engine=get_engine(settings.database_url)).ok
    return app


@pytest.fixture
def api(directory_app):
    return directory_app.test_client()


def test_info_and_a_page_of_services(api):
    info = api.get("/api/hsds/").get_json()
    assert info["version"] == "3.0" and info["openapi_url"].endswith("openapi.json")
    page = api.get("/api/hsds/services?per_page=5").get_json()
    assert page["total_items"] == 12 and page["size"] == 5 and page["total_pages"] == 3
    assert page["first_page"] and not page["last_page"] and not page["empty"]
    # One-to-one fields only, unless full=true.
    assert all("service_areas" not in s for s in page["contents"])
    full = api.get("/api/hsds/services?per_page=5&full=true").get_json()
    assert all(s["service_areas"] for s in full["contents"])
    last = api.get("/api/hsds/services?per_page=5&page=3").get_json()
    assert last["size"] == 2 and last["last_page"]
    beyond = api.get("/api/hsds/services?per_page=5&page=9").get_json()
    assert beyond["empty"] and beyond["contents"] == []


def test_search_and_taxonomy_filters(api):
    every = api.get("/api/hsds/services?full=true&per_page=200").get_json()["contents"]
    some = every[0]
    word = some["name"].split()[0]
    found = api.get(f"/api/hsds/services?search={word.lower()}").get_json()["contents"]
    assert some["id"] in [s["id"] for s in found]
    term = some["attributes"][0]["taxonomy_term"]
    tagged = api.get(f"/api/hsds/services?taxonomy_term_id={term['id']}&per_page=200").get_json()["contents"]
    expected = {s["id"] for s in every if term["id"] in [a["taxonomy_term"]["id"] for a in s["attributes"]]}
    assert {s["id"] for s in tagged} == expected
    by_taxonomy = api.get(f"/api/hsds/services?taxonomy_id={term['taxonomy']}&per_page=200").get_json()
    assert by_taxonomy["total_items"] >= len(expected)
    minimal = api.get("/api/hsds/services?minimal=true").get_json()["contents"]
    assert set(minimal[0]) <= {"id", "name", "status", "last_modified"}


def test_one_service_is_what_the_export_writes(api, directory_app, tmp_path, settings):
    from sociale_kaart.exporter import export_hsds

    export_hsds(tmp_path / "export.json", engine=get_engine(settings.database_url))
    exported = json.loads((tmp_path / "export.json").read_text(encoding="utf-8"))[0]
    assert api.get(f"/api/hsds/services/{exported['id']}").get_json() == exported
    missing = api.get("/api/hsds/services/bestaat-niet")
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"


def test_taxonomies_and_their_terms(api):
    taxonomies = api.get("/api/hsds/taxonomies").get_json()["contents"]
    names = {t["id"] for t in taxonomies}
    assert {"iad-levensgebied", "iad-niveau"} <= names and all(t["description"] for t in taxonomies)
    terms = api.get("/api/hsds/taxonomy_terms?taxonomy_id=iad-niveau").get_json()["contents"]
    assert {t["code"] for t in terms} >= {"eigen_kracht", "wijkteam"}
    one = api.get(f"/api/hsds/taxonomy_terms/{terms[0]['id']}").get_json()
    assert one == terms[0]
    assert api.get("/api/hsds/taxonomies/iad-niveau").get_json()["id"] == "iad-niveau"


@pytest.mark.parametrize("query", ["page=0", "page=twee", "per_page=-3", "full=misschien", "modified_after=gisteren"])
def test_bad_parameters_get_a_clear_400(api, query):
    response = api.get(f"/api/hsds/services?{query}")
    assert response.status_code == 400 and response.get_json()["error"] == "bad_request"
    assert response.get_json()["message"]


# --- schemathesis, against the specification's OpenAPI file ---------------------------


def _local_openapi() -> dict:
    """schema/openapi.json with its references to the specification's online schemas
    pointed at the same definitions in schema/service_with_definitions.json (no network
    here), the operations this API does not serve left out, and our base path."""
    spec = json.loads(need_shared("peer", "hsds", "schema", "openapi.json").read_text(encoding="utf-8"))
    service = json.loads(
        need_shared("peer", "hsds", "schema", "service_with_definitions.json").read_text(encoding="utf-8")
    )
    definitions = service.pop("definitions")
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in definitions.items():
        schemas[f"hsds_{name}"] = definition
    schemas["hsds_service"] = {k: v for k, v in service.items() if k in ("type", "properties", "required")}
    online = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"

    def local(node):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(online):
                name = ref[len(online) :].removeprefix("compiled/").removesuffix(".json")
                name = {"service_list": "service"}.get(name, name)
                return {"$ref": f"#/components/schemas/hsds_{name}"}
            if isinstance(ref, str) and ref.startswith("#/definitions/"):
                return {"$ref": f"#/components/schemas/hsds_{ref.removeprefix('#/definitions/')}"}
            return {k: local(v) for k, v in node.items()}
        if isinstance(node, list):
            return [local(v) for v in node]
        return node

    spec = local(copy.deepcopy(spec))
    # The specification marks ids "format: uuid". In JSON Schema a format is an annotation,
    # not a rule, and our ids are the directory's own stable ones ("candidate-2cbf...");
    # every other format and rule is checked.
    _drop_uuid_format(spec)
    spec["paths"] = {p: ops for p, ops in spec["paths"].items() if p in SERVED}
    spec["servers"] = [{"url": "/api/hsds"}]
    return spec


def _drop_uuid_format(node) -> None:
    if isinstance(node, dict):
        if node.get("format") == "uuid":
            del node["format"]
        for value in node.values():
            _drop_uuid_format(value)
    elif isinstance(node, list):
        for value in node:
            _drop_uuid_format(value)


@pytest.fixture
def hsds_schema(directory_app):
    schemathesis = pytest.importorskip("schemathesis")
    schema = schemathesis.openapi.from_dict(_local_openapi())
    schema.app = directory_app
    return schema


def test_the_local_openapi_points_nowhere_online():
    assert "raw.githubusercontent.com" not in json.dumps(_local_openapi()["paths"])


schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance  # noqa: E402

lazy_schema = schemathesis.pytest.from_fixture("hsds_schema")


@lazy_schema.parametrize()
def test_the_api_keeps_to_the_hsds_openapi(case):
    # 400 for a page of 0 or a date that is none is documented nowhere in the specification
    # (it lists 200 only), so status-code conformance is not asked; no 5xx, and every
    # answer matches the specification's schemas.
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance, content_type_conformance])
