"""The demo in a real browser: headless Chromium draws a digit with the mouse and reads the answer,
clears the canvas and draws again, uploads a photo and sees it shown, writes a number on the
Number tab and sees it read and boxed, and fits a phone's width.

Uses the OS's Chromium and chromedriver (`apt-get install chromium chromium-driver`; `.ci/run`
installs them), never a downloaded browser. Also a script that makes the README screenshot:

    .venv/bin/python tests/test_browser.py --output figures/07_app_screenshot.png
"""

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1280,1050"]
WAIT_SECONDS = 60  # the first prediction also warms the model up on a busy machine
PHONE = (390, 844)  # an iPhone 12-15's screen in CSS pixels

needs_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs the OS Chromium: apt-get install chromium chromium-driver (.ci/run does)")


def start_browser(profile: Path):
    """Headless Chromium from the OS packages, driven by its own chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # to list requests
    # An explicit driver path: Selenium Manager never tries to download one.
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def draw_with_mouse(driver, strokes: list[list[tuple[float, float]]],
                    element_id: str = "sketchpad",
                    area: tuple[float, float] | None = None) -> None:
    """Draw strokes (fractions of the drawing area) on a sketchpad with mouse drags, one move
    per point (the sketchpad draws the line between; each move costs the page a repaint).

    Args:
        area: the drawing area's (width, height) in CSS pixels, centred in the canvas element;
            by default a square of 3/4 of the element's shorter side, well inside the Draw tab's.
    """
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    canvas = driver.find_element(By.CSS_SELECTOR, f"#{element_id} canvas")
    side = 0.75 * min(canvas.rect["width"], canvas.rect["height"])
    width, height = area or (side, side)

    def offset(x: float, y: float) -> tuple[int, int]:  # from the canvas centre, in pixels
        return round((x - 0.5) * width), round((y - 0.5) * height)

    for stroke in strokes:
        # The pen goes down only once the pointer is at the stroke's start: pressed while the
        # pointer was still on its way, the canvas drew a line from the last stroke's end.
        ActionChains(driver, duration=10).move_to_element_with_offset(
            canvas, *offset(*stroke[0])).pause(0.05).perform()
        actions = ActionChains(driver, duration=10)
        actions.move_to_element_with_offset(canvas, *offset(*stroke[0])).click_and_hold()
        for point in stroke[1:]:
            actions.move_to_element_with_offset(canvas, *offset(*point))
        actions.release().perform()


def requested_urls(driver) -> set[str]:
    """Every http(s) URL the page has requested so far (from Chromium's network log)."""
    urls = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if url.startswith(("http://", "https://")):
                urls.add(url)
    return urls


def wait_for_text(driver, element_id: str, text: str) -> str:
    """Wait until the element's text contains `text`; return the whole text."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    element = driver.find_element(By.ID, element_id)
    WebDriverWait(driver, WAIT_SECONDS).until(lambda _: text in element.text)
    return element.text


def wait_for_brush(driver, seconds: float = WAIT_SECONDS, element_id: str = "sketchpad") -> None:
    """Wait until the sketchpad's brush is the chosen tool (the app picks it for the user)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    brush_chosen = f'#{element_id} button[aria-label="Brush"].highlight'
    WebDriverWait(driver, seconds).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, brush_chosen),
        message="the brush is not chosen: a stroke would not draw")


def zoom(driver, element_id: str) -> float:
    """The zoom the sketchpad shows its canvas at (its toolbar says "37%")."""
    from selenium.webdriver.common.by import By

    shown = re.search(r"(\d+)%", driver.find_element(By.ID, element_id).text)
    assert shown, f"the {element_id} shows no zoom"
    return int(shown.group(1)) / 100


def open_number_tab(driver) -> tuple[float, float]:
    """Choose the Number tab; wait for its brush; return its drawing area (CSS pixels)."""
    from selenium.webdriver.common.by import By

    from digitlab.serve import app

    driver.find_element(By.XPATH, '//button[@role="tab"][normalize-space()="Number"]').click()
    wait_for_brush(driver, element_id="number-sketchpad")
    assert "Write a number" in wait_for_text(driver, "prediction", "Write a number")
    scale = zoom(driver, "number-sketchpad")
    return app.NUMBER_CANVAS_SIZE[0] * scale, app.NUMBER_CANVAS_SIZE[1] * scale


def open_app(driver, url: str) -> None:
    """Load the page and wait until the sketchpad is ready with the brush chosen."""
    driver.get(url)
    wait_for_brush(driver)
    wait_for_text(driver, "prediction", "Draw a digit")


@pytest.fixture(scope="module")
def served_app(tmp_path_factory, mnist_dir):
    from test_app import free_port, trained_demo_model

    from digitlab.serve import app
    from digitlab.serve.predict import Predictor

    demo = app.build_app(Predictor(trained_demo_model(tmp_path_factory, mnist_dir)))
    port = free_port()
    app.launch(demo, "127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture
def browser(tmp_path):
    driver = start_browser(tmp_path / "chromium-profile")
    yield driver
    driver.quit()


def read_drawing(driver, digit: int, screenshot: Path) -> None:
    """Draw `digit` with the mouse and check that the page reads it."""
    from test_app import STROKES

    draw_with_mouse(driver, STROKES[digit])
    text = wait_for_text(driver, "prediction", "Prediction:")
    driver.save_screenshot(str(screenshot))
    assert f"Prediction: {digit}" in text, f"the page says {text!r}; see {screenshot}"


@needs_chromium
def test_draw_clear_draw_again_and_upload_a_photo(served_app, browser, tmp_path):
    from PIL import Image
    from selenium.webdriver.common.by import By
    from test_app import draw

    open_app(browser, served_app)
    read_drawing(browser, 3, tmp_path / "app_three.png")
    image = browser.find_element(By.ID, "model-input-image")
    assert image.get_attribute("src").startswith("data:image/png;base64,")

    browser.find_element(By.CSS_SELECTOR, '#sketchpad button[aria-label="Clear canvas"]').click()
    assert "Draw a digit" in wait_for_text(browser, "prediction", "Draw a digit")
    assert not browser.find_elements(By.ID, "model-input-image")
    wait_for_brush(browser, seconds=10)  # the clear unchose it; the app chooses it again
    read_drawing(browser, 7, tmp_path / "app_seven_after_clear.png")

    photo = tmp_path / "three.jpg"
    Image.fromarray(draw(3, background=(235, 230, 220, 255))).convert("RGB").save(photo)
    browser.find_element(By.XPATH, '//button[@role="tab"][normalize-space()="Upload"]').click()
    browser.find_element(By.CSS_SELECTOR, '#upload input[type="file"]').send_keys(str(photo))
    text = wait_for_text(browser, "prediction", "Prediction: 3")
    preview = browser.find_element(By.ID, "upload-preview-image")
    shown = browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth",
                                   preview)
    assert preview.is_displayed() and shown, f"no preview of the upload; the page says {text!r}"

    # Fully offline: fonts, scripts and styles all come from the app itself.
    urls = requested_urls(browser)
    assert urls and all(url.startswith(served_app) for url in urls), sorted(urls)


@needs_chromium
def test_a_number_written_on_the_number_tab_is_read_with_its_boxes(served_app, browser,
                                                                      tmp_path):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from test_app import number_strokes

    open_app(browser, served_app)
    area = open_number_tab(browser)
    draw_with_mouse(browser, number_strokes("73"), element_id="number-sketchpad", area=area)
    screenshot = tmp_path / "app_number.png"
    try:  # each stroke's end is read: "Number: 7" comes first, then the whole number
        wait_for_text(browser, "prediction", "Number: 73")
    except TimeoutException:
        browser.save_screenshot(str(screenshot))
        text = browser.find_element(By.ID, "prediction").text
        raise AssertionError(f"the page says {text!r}; see {screenshot}") from None
    browser.save_screenshot(str(screenshot))
    boxes = browser.find_element(By.ID, "number-reading-image")
    shown = browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth",
                                   boxes)
    assert boxes.is_displayed() and shown, "the number is not shown with its boxes"


@needs_chromium
def test_the_demo_fits_a_390_px_wide_phone(served_app, browser, tmp_path):
    from selenium.webdriver.common.by import By

    from digitlab.serve import app

    browser.set_window_size(*PHONE)
    open_app(browser, served_app)
    page = browser.execute_script("""
        const box = document.querySelector('#sketchpad canvas').getBoundingClientRect();
        const html = document.documentElement;
        return {window: window.innerWidth, width: html.clientWidth, scrolled: html.scrollWidth,
                left: box.left, right: box.right, canvas: box.width};""")
    browser.save_screenshot(str(tmp_path / "app_phone.png"))
    assert page["window"] == PHONE[0], page
    assert page["scrolled"] <= page["width"], page  # nothing to scroll sideways to
    assert 0 <= page["left"] and page["right"] <= page["width"], page  # the canvas shows whole
    # The drawing area is the canvas at the editor's zoom: all of it must show.
    assert app.CANVAS_SIZE[0] * zoom(browser, "sketchpad") <= page["canvas"], page
    read_drawing(browser, 7, tmp_path / "app_phone_seven.png")

    width, _ = open_number_tab(browser)  # the wide canvas shows whole too
    box = browser.find_element(By.CSS_SELECTOR, "#number-sketchpad canvas").rect
    assert 0 <= box["x"] and box["x"] + box["width"] <= page["width"], (box, page)
    assert width <= box["width"], (width, box)


def save_screenshot(model: Path | None, output: Path) -> Path:
    """Serve the app, draw a 3 in Chromium and save the page as the README screenshot."""
    sys.path.insert(0, str(Path(__file__).parent))
    from test_app import STROKES, free_port

    from digitlab.serve import app
    from digitlab.serve.predict import Predictor

    demo = app.build_app(Predictor(model))
    port = free_port()
    app.launch(demo, "127.0.0.1", port, block=False)
    profile = Path(tempfile.mkdtemp(prefix="digitlab-chromium-"))
    driver = start_browser(profile)
    try:
        open_app(driver, f"http://127.0.0.1:{port}/")
        draw_with_mouse(driver, STROKES[3])
        print(wait_for_text(driver, "prediction", "Prediction:").replace("\n", " "))
        output.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(output))
    finally:
        driver.quit()
        demo.close()
        shutil.rmtree(profile, ignore_errors=True)
    return output


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Make the README screenshot of the demo.")
    parser.add_argument("--model", type=Path, default=None, help="default: models/cnn.keras")
    parser.add_argument("--output", type=Path, default=Path("figures/07_app_screenshot.png"))
    arguments = parser.parse_args()
    print(f"saved {save_screenshot(arguments.model, arguments.output)}")
