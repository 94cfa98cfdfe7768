"""The page in a real browser: Debian's headless Chromium driven by Playwright against a live server.

Playwright cannot download its own browser here, so it drives /usr/bin/chromium (`make test` installs
the Debian package where apt is available). Without it these tests fail: the page is the product's face.
Screenshots are kept under the test's tmp dir (pytest prints where with -rA; see --basetemp).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Page, expect

from conftest import serving
from fashiongan.serve import create_app

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(create_app()) as url:
        yield url


@pytest.fixture
def page(browser, server: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.goto(server)
    expect(opened.locator("body")).to_have_attribute("data-ready", "true", timeout=30_000)
    yield opened
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _images_loaded(page: Page, selector: str) -> int:
    """How many images under ``selector`` decoded to a real picture."""
    return page.eval_on_selector_all(selector, "els => els.filter(e => e.complete && e.naturalWidth > 0).length")


def test_generate_shows_a_grid_of_the_asked_class(page: Page, tmp_path: Path, real_data):
    takes_colour = page.evaluate("fetch('/api/info').then(r => r.json()).then(i => i.generators.find(g => g.source === i.default_generator).colour)")
    expect(page.locator("#gen-colour")).to_be_visible() if takes_colour else expect(page.locator("#gen-colour")).to_be_hidden()
    page.select_option("#gen-label", "Dress")
    page.fill("#gen-n", "8")
    page.click("#gen-run")
    expect(page.locator("#gen-results figure")).to_have_count(8, timeout=30_000)
    assert _images_loaded(page, "#gen-results img") == 8
    expect(page.locator("#gen-results figcaption").first).to_have_text(re.compile(r"^([a-z ]+ )?Dress$"))
    expect(page.locator("#gen-download")).to_be_visible()
    assert page.get_attribute("#gen-download", "href").startswith("data:image/png;base64,")
    page.fill("#gen-n", "500")  # over the limit: the form itself refuses, before any request
    assert page.eval_on_selector("#gen-n", "e => e.validity.rangeOverflow")
    page.screenshot(path=str(tmp_path / "generate.png"), full_page=True)


def test_generate_by_attributes_with_the_cvae(page: Page, tmp_path: Path, real_data):
    page.select_option("#gen-model", "pretrained:cvae")
    expect(page.locator("#gen-label-wrap")).to_be_hidden()
    expect(page.locator("#gen-colour-wrap")).to_be_hidden()
    page.select_option("#gen-attr-category", "dress")
    page.select_option("#gen-attr-colour", "navy")
    page.fill("#gen-n", "4")
    page.click("#gen-run")
    expect(page.locator("#gen-results figure")).to_have_count(4, timeout=30_000)
    assert _images_loaded(page, "#gen-results img") == 4
    expect(page.locator("#gen-results figcaption")).to_have_text(["navy dress"] * 4)
    page.screenshot(path=str(tmp_path / "generate-cvae.png"), full_page=True)
    page.select_option("#gen-model", "pretrained:acgan")  # back to a class model: its controls return
    expect(page.locator("#gen-label-wrap")).to_be_visible()
    expect(page.locator("#gen-attrs")).to_be_hidden()


def test_classify_a_test_item_with_fgsm(page: Page, tmp_path: Path, real_data):
    page.click("#tab-classify")
    page.click("#cls-run")
    expect(page.locator("#status.error")).to_have_text("upload an image or pick a test item first")
    page.click("#cls-pick")
    expect(page.locator("#cls-picker figure")).to_have_count(10, timeout=30_000)
    page.locator("#cls-picker figure").nth(3).click()
    page.select_option("#cls-model", "pretrained:cnn")
    page.fill("#cls-eps", "0.25")
    page.click("#cls-run")
    expect(page.locator("#cls-results .column")).to_have_count(2, timeout=30_000)
    assert _images_loaded(page, "#cls-results img") == 2
    expect(page.locator("#cls-results .column").nth(1)).to_contain_text("FGSM ε = 0.25")
    expect(page.locator("#cls-results .bars").first.locator("li")).to_have_count(5)
    page.screenshot(path=str(tmp_path / "classify.png"), full_page=True)


def test_lookbook_build_lock_regenerate_download(page: Page, tmp_path: Path, real_data):
    page.click("#tab-lookbook")
    page.fill("#lb-outfits", "3")
    page.click("#lb-run")
    expect(page.locator("#lb-results .outfit")).to_have_count(3, timeout=120_000)
    assert _images_loaded(page, "#lb-results img") == page.locator("#lb-results img").count() >= 6
    first = page.locator("#lb-results .tile").first
    kept = first.get_attribute("data-id")
    first.click()
    expect(page.locator("#lb-results .tile.locked")).to_have_count(1)
    before = set(page.eval_on_selector_all("#lb-results .tile", "els => els.map(e => e.dataset.id)"))
    page.click("#lb-regenerate")
    expect(page.locator("#lb-seed")).to_have_value("1", timeout=120_000)
    after = set(page.eval_on_selector_all("#lb-results .tile", "els => els.map(e => e.dataset.id)"))
    assert kept in after and after - {kept} and not (after - {kept}) & before
    expect(page.locator(f'#lb-results .tile.locked[data-id="{kept}"]')).to_have_count(1)
    with page.expect_download() as download:
        page.click("#lb-download")
    saved = tmp_path / "lookbook.html"
    download.value.save_as(saved)
    assert saved.read_text().count("data:image/png;base64,") == len(after)
    page.screenshot(path=str(tmp_path / "lookbook.png"), full_page=True)


def test_colorize_when_shipped(page: Page, tmp_path: Path, real_data):
    if page.locator("#tab-colorize").is_hidden():
        assert page.evaluate("fetch('/api/info').then(r => r.json()).then(i => i.tasks.colorize || null)") is None
        return
    page.click("#tab-colorize")
    page.click("#col-pick")
    expect(page.locator("#col-picker figure")).to_have_count(10, timeout=30_000)
    page.select_option("#col-colour", "navy")
    page.click("#col-run")
    expect(page.locator("#col-results .column")).to_have_count(2, timeout=30_000)
    assert _images_loaded(page, "#col-results img") == 2
    page.screenshot(path=str(tmp_path / "colorize.png"), full_page=True)


def test_restyle_shows_original_translated_and_reconstructed(page: Page, tmp_path: Path, real_data):
    expect(page.locator("#tab-restyle")).to_be_visible()  # pretrained:fabric-cyclegan is shipped
    page.click("#tab-restyle")
    page.click("#res-pick")
    expect(page.locator("#res-picker figure")).to_have_count(10, timeout=30_000)
    page.locator("#res-picker figure").nth(3).click()
    page.select_option("#res-fabric", "denim")
    page.click("#res-run")
    expect(page.locator("#res-results .column")).to_have_count(3, timeout=30_000)
    assert _images_loaded(page, "#res-results img") == 3
    page.screenshot(path=str(tmp_path / "restyle.png"), full_page=True)


def test_restyle_an_uploaded_product_photo_keeps_its_backdrop(page: Page, tmp_path: Path, real_data):
    from PIL import Image, ImageDraw

    photo = Image.new("RGB", (120, 150), (245, 243, 238))
    ImageDraw.Draw(photo).polygon([(30, 15), (90, 15), (110, 45), (92, 52), (90, 135), (30, 135), (28, 52), (10, 45)], fill=(80, 45, 25))
    photo.save(tmp_path / "jacket.png")
    page.click("#tab-restyle")
    page.set_input_files("#res-file", str(tmp_path / "jacket.png"))
    page.select_option("#res-fabric", "denim")
    page.click("#res-run")
    expect(page.locator("#res-results .column")).to_have_count(3, timeout=30_000)
    expect(page.locator("#res-results")).to_contain_text("cut out of its backdrop")
    assert _images_loaded(page, "#res-results img") == 3
    page.screenshot(path=str(tmp_path / "restyle-upload.png"), full_page=True)
