#!/usr/bin/python3
"""browser_check.py -- drive pgq web in headless Chromium, as a person would.

Usage: browser_check.py BASE_URL TOKEN SCREENSHOT_DIR EXPECTED_JSON

Called by test/t/050_pgq_web.pl, which starts a server with jobs in every
state and `pgq web`, and passes what the pages must show in the JSON file EXPECTED_JSON:
  {"totals": {"queued": N, "deferred": N, "picked": N, "failed": N},
   "failed_entrypoint": NAME, "failed_ids": [ID, ...],
   "pause_entrypoint": NAME, "xss_entrypoint": NAME, "xss_job": ID,
   "xss_payload": TEXT, "worker": UUID}
It also waits for the TAP test at three points, by files it creates in
SCREENSHOT_DIR: "ready-for-enqueue" (the test enqueues a job, the overview
must update live), "ready-for-stop" (the test stops the database, a banner
must appear) and "banner-seen" (the test starts it again, the banner must
go).
Opens every page, checks the DOM, logs in with the token, requeues one
failed job and pauses an entrypoint through the page, and checks that none
of the hostile strings ran as script.  Writes screenshots of the overview
and the failed page.  Prints one JSON object: {"checks": [[name, ok,
detail], ...]}; the TAP test asserts each.  Exit status 0 even when checks
fail (they are reported); 3 when the browser cannot start.
"""

import json
import os
import sys

from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                        TimeoutException, WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

checks = []


def check(name, ok, detail=""):
    checks.append([name, bool(ok), str(detail)])


def again(fn):
    """fn(), retried while the page replaced the elements it was reading (a
    live update re-renders the page at any moment)."""
    for _ in range(50):
        try:
            return fn()
        except StaleElementReferenceException:
            continue
    return fn()


def wait(driver, what, cond, timeout=60):
    """Wait for cond(driver) to hold; record a failed check on timeout."""
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.1,
                      ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)
                      ).until(lambda d: cond(d))
        return True
    except TimeoutException:
        check("wait: " + what, False, "timed out after %d s" % timeout)
        return False


def rendered(driver):
    return int(driver.execute_script("return Number(document.body.dataset.rendered || 0)"))


def open_page(driver, url):
    driver.get(url)
    wait(driver, "render " + url, lambda d: rendered(d) >= 1)


def no_script_ran(driver, where):
    ran = driver.execute_script("return window.pwned === 1 || document.title === 'pwned'")
    check("no injected script ran on " + where, not ran)


def text_of(driver, css):
    def read():
        els = driver.find_elements(By.CSS_SELECTOR, css)
        return els[0].text if els else None
    return again(read)


def attrs(driver, css, attr):
    """The attribute of every element matching css."""
    return again(lambda: [e.get_attribute(attr) for e in driver.find_elements(By.CSS_SELECTOR, css)])


def texts(driver, css):
    return again(lambda: [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)])


def click(driver, css):
    again(lambda: driver.find_element(By.CSS_SELECTOR, css).click())


def main():
    base, token, shots = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(sys.argv[4]) as f:
        exp = json.load(f)
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,900", "--no-first-run", "--disable-extensions"):
        opts.add_argument(a)
    try:
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    except WebDriverException as e:
        print(json.dumps({"error": str(e)}))
        return 3
    try:
        run(driver, base, token, shots, exp)
    finally:
        driver.quit()
    print(json.dumps({"checks": checks}))
    return 0


def run(driver, base, token, shots, exp):
    # Overview: totals per state, the hostile entrypoint as text, the worker.
    open_page(driver, base + "/")
    for key, n in exp["totals"].items():
        got = text_of(driver, '[data-testid="total-%s"] .n' % key)
        check("overview total %s" % key, got == str(n), "got %r, want %r" % (got, n))
    cells = texts(driver, "tr[data-entrypoint] td[data-field=entrypoint]")
    check("overview lists the hostile entrypoint as text", exp["xss_entrypoint"] in cells, cells)
    workers = attrs(driver, "tr[data-worker]", "data-worker")
    check("overview lists the worker", exp["worker"] in workers, workers)
    check("overview draws the throughput chart",
          len(attrs(driver, '[data-testid="throughput"] svg rect', "class")) > 0)
    no_script_ran(driver, "overview")
    driver.save_screenshot(os.path.join(shots, "overview.png"))

    # Job page of the hostile job: payload and headers shown as text.
    open_page(driver, base + "/job?id=%d" % exp["xss_job"])
    payload = text_of(driver, '[data-testid="payload"]')
    check("job page shows the payload as text", payload == exp["xss_payload"], repr(payload))
    headers = text_of(driver, '[data-testid="headers"]') or ""
    check("job page shows the headers as text", "<img" in headers, headers)
    check("job page shows the history", len(texts(driver, "table tbody tr")) >= 1)
    no_script_ran(driver, "job")

    # Jobs page with a filter.
    open_page(driver, base + "/jobs?status=failed")
    ids = sorted(int(i) for i in attrs(driver, "tr[data-job]", "data-job"))
    check("jobs page filters by status", ids == sorted(exp["failed_ids"]), ids)

    # Actions are refused before logging in.
    open_page(driver, base + "/failed")
    enabled = again(lambda: [b.is_enabled() for b in
                             driver.find_elements(By.CSS_SELECTOR, 'button[data-action="requeue"]')])
    check("requeue button disabled before login", enabled and not any(enabled), enabled)

    # Log in with the token.
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#login button").click()
    wait(driver, "login", lambda d: d.find_element(By.ID, "login").get_attribute("hidden") is not None
         and d.find_elements(By.CSS_SELECTOR, 'button[data-action="requeue"]')
         and d.find_elements(By.CSS_SELECTOR, 'button[data-action="requeue"]')[0].is_enabled())
    driver.save_screenshot(os.path.join(shots, "failed.png"))

    # Requeue one failed job through the page.
    target = exp["failed_ids"][0]
    before = rendered(driver)
    click(driver, 'tr[data-job="%d"] button[data-action="requeue"]' % target)
    wait(driver, "requeue", lambda d: rendered(d) > before and
         not d.find_elements(By.CSS_SELECTOR, 'tr[data-job="%d"]' % target))
    left = [int(i) for i in attrs(driver, "tr[data-job]", "data-job")]
    check("requeued job left the failed page", target not in left and len(left) == len(exp["failed_ids"]) - 1, left)
    count = text_of(driver, '[data-testid="failed-count"]')
    check("failed count shrank", count == "%d held job(s)" % (len(exp["failed_ids"]) - 1), count)

    # Pause an entrypoint through the page.
    open_page(driver, base + "/entrypoints")
    ep = exp["pause_entrypoint"]
    row = 'tr[data-entrypoint="%s"]' % ep
    before = rendered(driver)
    click(driver, row + ' button[data-action="pause"]')
    wait(driver, "pause", lambda d: rendered(d) > before and
         d.find_elements(By.CSS_SELECTOR, row + ' button[data-action="resume"]'))
    check("entrypoint shows paused", "paused" in (text_of(driver, row + " td[data-field=paused]") or ""))
    no_script_ran(driver, "entrypoints")

    # Schedules page.
    open_page(driver, base + "/schedules")
    check("schedules page lists the schedule", len(attrs(driver, "tr[data-schedule]", "data-schedule")) == 1)
    driver.save_screenshot(os.path.join(shots, "schedules.png"))

    # Live update: the TAP test enqueues a job after this file appears.
    open_page(driver, base + "/")
    queued = int(text_of(driver, '[data-testid="total-queued"] .n'))
    open(os.path.join(shots, "ready-for-enqueue"), "w").close()
    ok = wait(driver, "live update", lambda d: text_of(d, '[data-testid="total-queued"] .n') == str(queued + 1))
    check("overview updates live after an enqueue", ok)

    # A lost database shows a banner, which goes once it is back: the TAP
    # test stops the server after "ready-for-stop" and starts it again after
    # "banner-seen".
    open(os.path.join(shots, "ready-for-stop"), "w").close()
    ok = wait(driver, "error banner", lambda d: d.find_element(By.ID, "banner").is_displayed(), 60)
    check("a lost database shows an error banner", ok, text_of(driver, "#banner"))
    open(os.path.join(shots, "banner-seen"), "w").close()
    ok = wait(driver, "banner gone", lambda d: not d.find_element(By.ID, "banner").is_displayed()
              and text_of(d, '[data-testid="total-queued"] .n') is not None, 120)
    check("the banner goes once the database is back", ok)


if __name__ == "__main__":
    sys.exit(main())
