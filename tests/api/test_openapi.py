"""The OpenAPI schema and the Swagger page, served without a CDN (deployments may be air-gapped)."""

from __future__ import annotations

import json
import re

from django.test import Client

from tests.api.conftest import API

PATHS = {
    f"{API}/auth/token": {"post"},
    f"{API}/persons": {"get", "post"},
    f"{API}/persons/{{person_id}}": {"get", "patch"},
    f"{API}/cases/{{case_id}}": {"get"},
    f"{API}/cases/{{case_id}}/transitions": {"post"},
    f"{API}/ledger/events": {"get"},
}


def schema() -> dict:
    response = Client().get(f"{API}/openapi.json")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    return json.loads(response.content)


def test_openapi_is_valid_json_listing_the_paths(db):
    spec = schema()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "caseledger API"
    for path, methods in PATHS.items():
        assert path in spec["paths"], path
        assert methods <= set(spec["paths"][path]), (path, spec["paths"][path].keys())


def test_openapi_declares_bearer_auth_except_for_the_token_endpoint(db):
    spec = schema()
    schemes = spec["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
    assert "security" not in spec["paths"][f"{API}/auth/token"]["post"]
    assert spec["paths"][f"{API}/persons"]["get"]["security"]


def test_openapi_documents_the_error_responses(db):
    spec = schema()
    transition = spec["paths"][f"{API}/cases/{{case_id}}/transitions"]["post"]
    assert {"200", "404", "409", "422"} <= set(transition["responses"])
    create = spec["paths"][f"{API}/persons"]["post"]
    assert {"201", "409", "413", "422"} <= set(create["responses"])


def test_openapi_request_bodies_forbid_unknown_fields(db):
    spec = schema()
    schemas = spec["components"]["schemas"]
    for name in ("TokenIn", "PersonIn", "PersonPatch", "TransitionIn"):
        assert schemas[name].get("additionalProperties") is False, name


def test_docs_page_uses_only_local_assets(db):
    response = Client().get(f"{API}/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assert "openapi.json" in html
    lowered = html.lower()
    for host in ("cdn", "unpkg", "jsdelivr", "cloudflare", "googleapis"):
        assert host not in lowered, host
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", html)
    assert "http://" not in lowered and "https://" not in lowered
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    assert any(a.endswith("swagger-ui.css") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/static/"), asset


def test_docs_assets_are_served_locally(db):
    client = Client()
    html = client.get(f"{API}/docs").content.decode()
    assets = re.findall(r"""(?:src|href)=["'](/static/[^"']+)["']""", html)
    assert len(assets) >= 2
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert len(body) > 100, asset


def test_short_docs_url_redirects_to_the_docs(db):
    response = Client().get("/api/docs")
    assert response.status_code == 302
    assert response["Location"] == f"{API}/docs"
