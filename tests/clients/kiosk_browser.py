#!/usr/bin/env python3
"""Use the kiosk page in a real headless Chromium, by keyboard, on a 7-inch 800x480 screen.

    kiosk_browser.py URL QUERY EXPECTED SCREENSHOT.png

Loads the page, types QUERY into the search box, presses Enter, waits for results and checks that
a result contains EXPECTED and that the query's words are highlighted; turns on large type; saves
a screenshot. Prints one JSON document with what it saw; exits non-zero when a check fails.
"""
import json
import os
import shutil
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


def browser(profile):
    o = webdriver.ChromeOptions()
    o.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for f in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--window-size=800,480", "--user-data-dir=" + profile):
        o.add_argument(f)
    drv = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(service=Service(drv), options=o)


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    url, query, expected, shot = sys.argv[1:]
    with tempfile.TemporaryDirectory() as profile:
        d = browser(profile)
        try:
            d.set_page_load_timeout(30)
            d.get(url)
            box = WebDriverWait(d, 10).until(EC.element_to_be_clickable((By.ID, "q")))
            focused = d.switch_to.active_element == box
            box.send_keys(query)
            box.send_keys(Keys.ENTER)
            WebDriverWait(d, 30).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, "article.hit")
                or "Nothing relevant" in d.find_element(By.ID, "message").text)
            hits = d.find_elements(By.CSS_SELECTOR, "article.hit")
            texts = [h.text for h in hits]
            marks = [m.text for m in d.find_elements(By.CSS_SELECTOR, "article.hit mark")]
            status = d.find_element(By.ID, "status").text
            # Large type by keyboard: Tab from the box to the Search button, then to A+.
            box.send_keys(Keys.TAB)
            d.switch_to.active_element.send_keys(Keys.TAB)
            d.switch_to.active_element.send_keys(Keys.ENTER)
            large = "large" in (d.find_element(By.TAG_NAME, "body").get_attribute("class") or "")
            width = d.execute_script("return document.documentElement.scrollWidth")
            os.makedirs(os.path.dirname(os.path.abspath(shot)), exist_ok=True)
            d.save_screenshot(shot)
        finally:
            d.quit()
    out = {"hits": len(texts), "found": any(expected.lower() in t.lower() for t in texts),
           "marks": marks, "status": status, "autofocus": focused, "large": large,
           "scroll_width": width, "first": texts[0] if texts else ""}
    print(json.dumps(out))
    ok = out["found"] and marks and large and width <= 800
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
