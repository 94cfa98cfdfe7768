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
    expect(page.locator("#gen-results figcaption")).to_have_text(["navy Dress"] * 4)
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


def test_a_phone_photo_is_colorized_shown_at_its_shape_and_downloaded_at_its_size(page: Page, tmp_path: Path, real_data):
    from PIL import Image, ImageDraw

    photo = Image.new("RGB", (3024, 4032), (246, 244, 240))  # a 12-megapixel phone photo, portrait
    ImageDraw.Draw(photo).polygon([(900, 600), (2100, 600), (2500, 1300), (2150, 1450), (2100, 3500), (920, 3500),
                                   (880, 1450), (520, 1300)], fill=(96, 96, 100))
    photo.save(tmp_path / "IMG_0001.jpg", quality=88)
    page.click("#tab-colorize")
    page.set_input_files("#col-file", str(tmp_path / "IMG_0001.jpg"))
    page.select_option("#col-colour", "red")
    page.click("#col-run")
    expect(page.locator("#col-results .column")).to_have_count(2, timeout=60_000)
    assert _images_loaded(page, "#col-results img") == 2
    shown = page.eval_on_selector("#col-results .column:nth-child(2) img", "e => e.clientWidth / e.clientHeight")
    assert abs(shown / (3024 / 4032) - 1) < 0.02  # the garment keeps its proportions on screen
    with page.expect_download() as download:
        page.locator("#col-results .column").nth(1).locator("a.save").click()
    saved = tmp_path / "after.png"
    download.value.save_as(saved)
    assert Image.open(saved).size == (3024, 4032)
    page.locator("#col-results .column").nth(1).locator("img").click()  # enlarge
    expect(page.locator("#viewer")).to_be_visible()
    page.screenshot(path=str(tmp_path / "colorize-phone-photo.png"))
    page.click("#viewer-close")
    expect(page.locator("#viewer")).to_be_hidden()


def test_generated_items_download_enlarged_with_their_size_stated(page: Page, tmp_path: Path, real_data):
    from PIL import Image

    page.select_option("#gen-model", "pretrained:acgan-narrow")
    page.fill("#gen-n", "3")
    page.click("#gen-run")
    expect(page.locator("#gen-results figure")).to_have_count(3, timeout=30_000)
    link = page.locator("#gen-results a.save").first
    expect(link).to_have_text("Download 224 px")
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "item.png"
    download.value.save_as(saved)
    assert Image.open(saved).size == (224, 224) and "28px-x8" in download.value.suggested_filename


def test_an_error_belongs_to_its_tab_and_a_failed_request_clears_the_old_result(page: Page, real_data):
    page.click("#tab-classify")
    page.click("#cls-run")
    expect(page.locator("#status.error")).to_have_text("upload an image or pick a test item first")
    page.click("#tab-generate")
    expect(page.locator("#status")).to_have_text("")
    expect(page.locator("#gen-results figure")).to_have_count(6, timeout=30_000)  # the first screen's sample
    page.fill("#gen-n", "500")
    page.click("#gen-run")
    expect(page.locator("#status.error")).to_have_text("Images: ask for 1 to 64")
    expect(page.locator("#gen-results figure")).to_have_count(0)


def test_a_phone_reaches_every_tab_without_sideways_scrolling(browser, server: str, tmp_path: Path, real_data):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    phone.goto(server)
    expect(phone.locator("body")).to_have_attribute("data-ready", "true", timeout=30_000)
    expect(phone.locator("#gen-results figure")).to_have_count(6, timeout=30_000)
    for tab in phone.locator("#tabs button:visible").all():
        box = tab.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, tab.text_content()
    phone.click("#tab-lookbook")
    phone.click("#lb-run")
    expect(phone.locator("#lb-results .outfit")).to_have_count(6, timeout=120_000)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(tmp_path / "phone-lookbook.png"), full_page=True)
    context.close()
