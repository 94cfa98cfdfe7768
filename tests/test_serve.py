"""The web API: real answers from the shipped models, 4xx (never 5xx) for bad input, limits on bodies and uploads."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
import schemathesis
from schemathesis import GenerationMode
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from fashiongan.data import fashion_mnist as fm
from fashiongan.data.fashion_mnist import CLASSES
from fashiongan.lookbook.capabilities import detect
from fashiongan.serve import create_app, uploads
from fashiongan.serve.app import MAX_BODY

pytestmark = pytest.mark.real_data

APP = create_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def client():
    with TestClient(APP) as c:
        yield c


def png(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def decode(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))


def test_page_and_its_assets(client: TestClient):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert client.get(asset).status_code == 200
    assert client.get("/static/secret.py").status_code == 422
    assert client.get("/static/..%2Fapp.py").status_code in (404, 422)
    assert client.get("/openapi.json").json()["info"]["title"] == "fashiongan"
    assert client.get("/docs").status_code == 200


def test_info_lists_what_is_shipped(client: TestClient):
    info = client.get("/api/info").json()
    caps = detect()
    assert info["default_generator"] == caps.generator.source
    assert set(info["classifiers"]) == set(caps.classifiers) >= {"pretrained:cnn", "pretrained:evaluator"}
    assert info["classes"] == list(CLASSES)
    paths = client.get("/openapi.json").json()["paths"]
    assert ("/api/colorize" in paths) == bool(caps.colorizer)
    assert ("/api/restyle" in paths) == bool(caps.restyler)


def test_generate_gives_the_asked_class_and_is_deterministic(client: TestClient):
    body = {"label": "Sneaker", "n": 6, "seed": 7}
    first = client.post("/api/generate", json=body).json()
    assert first["labels"] == ["Sneaker"] * 6 and len(first["images"]) == 6
    assert decode(first["images"][0]).shape == (28, 28, 3)  # the default generator is the colour one
    assert decode(first["grid"]).shape[2] == 3
    again = client.post("/api/generate", json=body).json()
    assert again["images"] == first["images"]
    other = client.post("/api/generate", json=body | {"seed": 8}).json()
    assert other["images"] != first["images"]


@pytest.mark.parametrize("body", [
    {"n": 0}, {"n": 65}, {"n": "six"}, {"label": "Jumper"}, {"model": "pretrained:nope"}, {"seed": -1},
    {"extra": 1}, {"colour": "plaid"},
])
def test_generate_rejects_bad_fields_with_422(client: TestClient, body: dict):
    response = client.post("/api/generate", json=body)
    assert response.status_code == 422, response.text


def test_an_attribute_generator_draws_the_attributes_asked(client: TestClient):
    cvae = next(g for g in client.get("/api/info").json()["generators"] if g["source"] == "pretrained:cvae")
    assert [column for column, _ in cvae["attributes"]] == ["category", "group", "colour", "tone"]
    drawn = client.post("/api/generate", json={"model": "pretrained:cvae", "attributes": ["category=dress", "colour=navy"], "n": 4}).json()
    assert drawn["labels"] == ["dress"] * 4 and drawn["colours"] == ["navy"] * 4
    assert decode(drawn["images"][0]).shape == (28, 28, 3)
    for body, detail in [
        ({"model": "pretrained:cvae", "attributes": ["fabric=silk"]}, "attribute 'fabric=silk' should be NAME=VALUE"),
        ({"model": "pretrained:cvae", "attributes": ["colour=plaid"]}, "unknown colour 'plaid'; choose one of: black"),
        ({"model": "pretrained:acgan", "attributes": ["category=dress"]}, "pretrained:acgan takes no attributes"),
    ]:
        response = client.post("/api/generate", json=body)
        assert response.status_code == 422 and response.json()["detail"].startswith(detail), response.text
    assert client.post("/api/generate", json={"model": "pretrained:cvae", "attributes": ["a=b"] * 9}).status_code == 422


def test_colour_on_a_grayscale_generator_is_a_one_line_422(client: TestClient):
    response = client.post("/api/generate", json={"model": "pretrained:acgan", "colour": "red"})
    assert response.status_code == 422 and response.json()["detail"].startswith("pretrained:acgan takes no colour")


def test_classify_an_upload_and_a_test_item_alike(client: TestClient, real_data):
    test = fm.load("test")
    index = int(np.flatnonzero(test.labels == CLASSES.index("Trouser"))[0])
    by_index = client.post("/api/classify", data={"model": "pretrained:evaluator", "test_item": index, "eps": 0}).json()
    upload = client.post("/api/classify", data={"model": "pretrained:evaluator", "eps": 0},
                         files={"file": ("item.png", png(test.images[index]), "image/png")}).json()
    assert by_index["truth"] == "Trouser" and by_index["original"]["prediction"] == "Trouser"
    assert upload["original"]["probabilities"] == pytest.approx(by_index["original"]["probabilities"], abs=1e-6)
    assert sum(upload["original"]["probabilities"].values()) == pytest.approx(1, abs=1e-4)
    assert upload["adversarial"]["image"] == upload["original"]["image"] and not upload["fooled"]  # eps 0


def test_fgsm_fools_the_cnn_on_most_test_items(client: TestClient, real_data):
    fooled = [client.post("/api/classify", data={"model": "pretrained:cnn", "test_item": i, "eps": 0.2}).json()["fooled"]
              for i in range(10)]
    assert sum(fooled) >= 6
    attacked = client.post("/api/classify", data={"model": "pretrained:cnn", "test_item": 0, "eps": 0.2}).json()
    difference = np.abs(decode(attacked["adversarial"]["image"]).astype(int) - decode(attacked["original"]["image"]))
    assert 0 < difference.max() <= round(0.2 * 255) + 1


def test_light_background_uploads_are_inverted(client: TestClient, real_data):
    item = fm.load("test").images[1]
    rgba = np.dstack([np.repeat((255 - item)[..., None], 3, axis=2), np.full((28, 28), 255, np.uint8)])
    big = np.asarray(Image.fromarray(rgba, "RGBA").resize((300, 200)))
    answer = client.post("/api/classify", files={"file": ("photo.png", png(big), "image/png")}).json()
    assert answer["inverted"] is True
    assert answer["original"]["prediction"] == CLASSES[int(fm.load("test").labels[1])]


@pytest.mark.parametrize("name, content, message", [
    ("empty.png", b"", "empty"),
    ("text.png", b"not an image at all", "not an image of a format read here (PNG, JPEG, GIF, BMP, WEBP)"),
    ("cut.png", png(np.zeros((64, 64), np.uint8))[:60], "truncated"),
    ("tiny.png", png(np.zeros((2, 2), np.uint8)), "is 2x2 px; it needs at least 8 px a side"),
    ("huge.png", png(np.zeros((12000, 5000), np.uint8)), "is 5000x12000 px, over the 50 megapixels read here"),
])
def test_bad_uploads_get_one_line_422(client: TestClient, name: str, content: bytes, message: str):
    response = client.post("/api/classify", files={"file": (name, content, "image/png")})
    assert response.status_code == 422 and message in response.json()["detail"], response.text


def test_exactly_one_image_source_and_eps_limits(client: TestClient, real_data):
    assert client.post("/api/classify", data={"eps": 0.1}).status_code == 422
    both = client.post("/api/classify", data={"test_item": 1}, files={"file": ("a.png", png(np.zeros((28, 28), np.uint8)), "image/png")})
    assert both.status_code == 422
    assert client.post("/api/classify", data={"test_item": 1, "eps": 0.9}).status_code == 422
    assert client.post("/api/classify", data={"test_item": 10_000}).status_code == 422
    assert client.post("/api/classify", data={"test_item": 1, "model": "pretrained:acgan"}).status_code == 422


def test_bodies_over_the_limit_get_413_declared_or_streamed(client: TestClient):
    declared = client.post("/api/generate", content=b"x" * (MAX_BODY + 1), headers={"content-type": "application/json"})
    assert declared.status_code == 413
    chunks = (b"x" * 65536 for _ in range(MAX_BODY // 65536 + 2))
    streamed = client.post("/api/classify", content=chunks, headers={"content-type": "multipart/form-data; boundary=b"})
    assert streamed.status_code == 413
    upload = client.post("/api/classify", files={"file": ("big.jpg", b"\xff\xd8" + b"0" * uploads.MAX_BYTES, "image/jpeg")})
    assert upload.status_code == 413 and f"the image is over {uploads.MAX_MB} MB" in upload.json()["detail"]
    assert f"the image is over {uploads.MAX_MB} MB" in declared.json()["detail"]  # one limit, in MB, whichever check
    photo = client.post("/api/classify", files={"file": ("3mb.jpg", b"\xff\xd8" + b"0" * 3 * 2**20, "image/jpeg")})
    assert photo.status_code == 422  # a photo of a few MB is within the limits (this one is no JPEG)


def test_test_items_are_what_they_say(client: TestClient, real_data):
    items = client.get("/api/test-items", params={"label": "Bag", "n": 5, "seed": 3}).json()["items"]
    test = fm.load("test")
    assert len(items) == 5
    for item in items:
        assert item["class"] == "Bag" and np.array_equal(decode(item["image"]), test.images[item["index"]])
    assert client.get("/api/test-items", params={"n": 41}).status_code == 422


def test_lookbook_build_lock_and_download(client: TestClient):
    first = client.post("/api/lookbook", json={"outfits": 2, "seed": 5}).json()
    assert len(first["outfits"]) == 2 and first["seed"] == 5
    items = [i for o in first["outfits"] for i in o["items"]]
    assert all(i["confidence"] >= 0.9 for i in items)
    kept = items[0]
    second = client.post("/api/lookbook", json={"outfits": 2, "lock": {"lookbook": first["id"], "item": kept["id"]}}).json()
    again = [i for o in second["outfits"] for i in o["items"]]
    assert second["seed"] == 6 and [i["image"] for i in again if i["id"] == kept["id"]] == [kept["image"]]
    page = client.get(second["html"])
    assert page.status_code == 200 and "attachment" in page.headers["content-disposition"]
    assert page.text.count("data:image/png;base64,") == len(again)
    assert client.get(second["manifest"]).json()["locked"] == kept["id"]
    missing = client.post("/api/lookbook", json={"lock": {"lookbook": first["id"], "item": "coat-1"}})
    assert missing.status_code == 422 and "names no item" in missing.json()["detail"]
    assert client.post("/api/lookbook", json={"lock": {"lookbook": "0" * 12, "item": "coat-1"}}).status_code == 404
    assert client.get("/api/lookbook/not-a-token/index.html").status_code == 422
    assert client.post("/api/lookbook", json={"outfits": 13}).status_code == 422


OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_no_request_from_the_schema_gets_a_server_error(operation, real_data):
    """Valid and malformed requests drawn from /openapi.json (schemathesis' strategies, a dozen of each kind)."""
    requests = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(requests)
    @settings(max_examples=24, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        if case.path == "/api/lookbook" and isinstance(case.body, dict) and case.body.get("outfits", 6) in range(2, 13):
            case.body["outfits"] = 1  # a valid build is slow (the default is 6 outfits); its size is tested above
        response = case.call()
        assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}: {response.text[:300]}"

    check()


def test_colorize_and_restyle_routes_appear_with_their_models(tmp_path, real_data):
    from test_lookbook import _tiny_colorizer, _tiny_restyler

    from fashiongan.lookbook.capabilities import Capabilities

    shipped = detect()
    tasks = {"colorize": _tiny_colorizer(tmp_path / "colorizer"), "restyle": _tiny_restyler(tmp_path / "restyler")}
    app = create_app(Capabilities(shipped.generators, shipped.classifiers, shipped.colour_judge, tasks))
    with TestClient(app) as c:
        info = c.get("/api/info").json()
        assert info["tasks"] == tasks and info["fabrics"] == ["leather", "denim"]
        painted = c.post("/api/colorize", data={"test_item": 4, "colour": "navy"}).json()
        assert decode(painted["before"]).shape == decode(painted["after"]).shape == (28, 28, 3) and painted["size"] == [28, 28]
        assert c.post("/api/colorize", data={"test_item": 4, "colour": "plaid"}).status_code == 422
        upload = png(np.full((40, 30, 3), 90, np.uint8))
        moved = c.post("/api/restyle", data={"fabric": "denim"}, files={"file": ("a.png", upload, "image/png")}).json()
        assert decode(moved["after"]).shape == decode(moved["reconstructed"]).shape == (40, 30, 3)
        assert moved["cut_out"] is False  # a plain grey square: no garment stands out
        product = np.full((40, 30, 3), 240, np.uint8)
        product[10:30, 8:22] = (90, 50, 30)  # a brown item on white, as a shop photographs it
        for route, form in (("/api/restyle", {"fabric": "denim"}), ("/api/colorize", {"colour": "navy"})):
            shown = c.post(route, data=form, files={"file": ("p.png", png(product), "image/png")}).json()
            assert shown["cut_out"] is True and "inverted" not in shown
            before, after = decode(shown["before"]), decode(shown["after"])
            assert before[0, 0].min() >= 235 and after[0, 0].min() >= 235  # shown as sent, the backdrop kept
        assert c.post("/api/restyle", data={"test_item": 1, "fabric": "silk"}).status_code == 422


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA", "P", "I;16", "JPEG", "odd size"])
def test_uploads_in_any_common_mode_are_classified_alike(client: TestClient, mode: str, real_data):
    item = fm.load("test").images[0]  # an ankle boot
    image = Image.fromarray(item)
    buffer, fmt = io.BytesIO(), "PNG"
    if mode == "JPEG":
        image, fmt = image.resize((112, 112)), "JPEG"
    elif mode == "odd size":
        image = image.resize((57, 91))
    elif mode == "I;16":
        image = Image.fromarray(item.astype(np.uint16) * 257)
    else:
        image = image.convert(mode)
    image.save(buffer, format=fmt)
    answer = client.post("/api/classify", data={"model": "pretrained:evaluator", "eps": 0},
                         files={"file": (f"item.{fmt.lower()}", buffer.getvalue(), f"image/{fmt.lower()}")})
    assert answer.status_code == 200, answer.text
    assert answer.json()["original"]["prediction"] == "Ankle boot" and not answer.json()["inverted"]


def phone_photo(width: int = 4032, height: int = 3024, orientation: int = 6) -> bytes:
    """A camera JPEG: landscape pixels with an EXIF orientation that turns them upright (6: 90 degrees)."""
    photo = Image.new("RGB", (width, height), (246, 244, 240))
    ImageDraw.Draw(photo).rectangle((width // 3, height // 5, 2 * width // 3, 4 * height // 5), fill=(70, 70, 74))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=85, exif=exif.tobytes())
    return buffer.getvalue()


def test_a_phone_photo_is_colorized_upright_and_answered_at_its_own_size(client: TestClient):
    data = phone_photo()
    assert len(data) < uploads.MAX_BYTES
    answer = client.post("/api/colorize", data={"colour": "red"}, files={"file": ("IMG_0001.jpg", data, "image/jpeg")})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["size"] == [3024, 4032] and body["cut_out"] is True  # upright: the EXIF turned it to portrait
    after = decode(body["after"])
    assert after.shape == (4032, 3024, 3) and decode(body["before"]).shape == (4032, 3024, 3)
    centre = after[1500:2500, 1200:1800].reshape(-1, 3).mean(0)
    assert centre[0] > centre[1] + 30  # the garment is red, the backdrop kept light
    assert after[:200, :200].mean() > 200


def test_transparency_is_kept_through_colorize_and_restyle(client: TestClient):
    rgba = np.zeros((60, 40, 4), np.uint8)
    rgba[10:50, 8:32] = (120, 120, 120, 255)  # a grey garment, cut out: transparent around it
    for path, field in (("/api/colorize", {"colour": "navy"}), ("/api/restyle", {"fabric": "denim"})):
        body = client.post(path, data=field, files={"file": ("cutout.png", png(rgba, "RGBA"), "image/png")}).json()
        after = decode(body["after"])
        assert after.shape == (60, 40, 4) and np.array_equal(after[..., 3], rgba[..., 3]), path


def test_every_request_is_logged_in_one_line_without_its_content_and_the_favicon_is_served():
    lines: list[str] = []
    with TestClient(create_app(log=lines.append)) as logged:
        assert logged.get("/favicon.ico").headers["content-type"].startswith("image/svg+xml")
        logged.post("/api/generate", json={"n": 100})
    assert re.fullmatch(r"GET /favicon\.ico 200 \d+ ms", lines[0])
    assert re.fullmatch(r"POST /api/generate 422 \d+ ms", lines[1])
