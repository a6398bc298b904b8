"""The pages in a real browser (issue 15; docs/operations.md, "Following improvements in
the browser"): Debian's chromium through chromedriver and Selenium, against the real
supervisor ([control], [fork] on local bare repositories, require_approval). Sign in
with `open`'s one-time link; the history table equals `history --json`; a request
appears under Pending approvals by itself; Approve runs the verified handover and the
Now page shows its phases reach `done` without a reload; Deny records its reason; a
summary written as markup shows as text and runs nothing; and a reused link, a missing
cookie, a cross-origin POST and a POST without the CSRF token are refused and change
nothing. Screenshots of the pages at 1440 and 390 px go to <build>/screenshots/."""
import http.client
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from agent_tools_env import http_json
from harness import BIN, poll_until

selenium = pytest.importorskip("selenium", reason="python3-selenium (scripts/install-deps.sh)")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium and chromium-driver (install-deps)")
HOSTILE = "<img src=x onerror=alert(1)>"
SCREENSHOTS = Path(os.environ.get("AGENTRON_SCREENSHOTS", Path(BIN).parent / "screenshots"))


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1440,1000", "--no-first-run", "--disable-extensions"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class Pages:
    def __init__(self, tools_env, control=None):
        self.t = tools_env(handover={"require_approval": True}, control=control)
        self.e = self.t.e
        self.s = self.t.s
        self.port = self.t.api_port
        self.base = f"http://127.0.0.1:{self.port}"

    def login_link(self):
        r = self.s.cli("open", "--no-browser", "--config", str(self.s.config))
        assert r.returncode == 0, r.stderr
        link = r.stdout.strip()
        assert re.fullmatch(rf"http://127\.0\.0\.1:{self.port}/login\?code=[0-9a-f]{{32}}", link), link
        return link

    def ask(self, summary, requested_by="agent"):
        """A restart request as the agent makes it (its token, POST /v1/requests)."""
        commit = self.e.commit(message=summary[:40])
        status, answer = http_json(self.port, "POST", "/v1/requests",
                                   {"branch": "agent-improvement/faster", "commit": commit, "summary": summary,
                                    "requested_by": requested_by, "run_id": "run-42"},
                                   headers={"Authorization": f"Bearer {self.t.token}"})
        assert status == 202 and answer["state"] == "awaiting_approval", answer
        return answer["id"], commit

    def state_of(self, request_id):
        return self.e.request_row(request_id)["state"]

    def raw(self, method, path, headers=None, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers={"Host": f"127.0.0.1:{self.port}", **(headers or {})})
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()


def wait_for(driver, condition, timeout, what):
    return poll_until(lambda: condition(driver), timeout, what, interval=0.1)


def shoot(driver, name):
    """Screenshots at 1440 and 390 px wide, the whole page's height."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1440, 390):
        driver.set_window_size(width, 1000)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, max(600, min(height + 40, 4000)))
        # Usable at this width: nothing pushes the page sideways but the tables' own scroll boxes.
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 1:
            culprits = driver.execute_script(
                "return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right >"
                " document.documentElement.clientWidth + 1).map(e => e.tagName + '.' + e.className + ' ' +"
                " Math.round(e.getBoundingClientRect().right)).slice(0, 8)")
            raise AssertionError(f"{name} at {width} px scrolls sideways by {overflow} px: {culprits}")
        driver.save_screenshot(str(SCREENSHOTS / f"{name}-{width}.png"))
    driver.set_window_size(1440, 1000)


def no_alert(driver):
    try:
        driver.switch_to.alert
    except NoAlertPresentException:
        return True
    return False


def test_approve_in_the_browser_runs_the_handover_and_the_page_follows_it(tools_env, browser):
    p = Pages(tools_env)
    link = p.login_link()
    browser.get(link)
    assert browser.current_url == p.base + "/"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Now"
    cookie = browser.get_cookie("agentron_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"

    # The link works once: another browser (no cookie) is refused with it.
    browser.delete_all_cookies()
    browser.get(link)
    assert "This login link does not work" in browser.page_source
    assert browser.get_cookie("agentron_session") is None
    browser.get(p.login_link())
    shoot(browser, "now")

    # A request appears under Pending approvals within 2 s of being made, no reload.
    browser.get(p.base + "/approvals")
    assert "Nothing is waiting" in browser.page_source
    browser.execute_script("window.notReloaded = true")
    request_id, commit = p.ask(HOSTILE)
    wait_for(browser, lambda d: d.find_elements(By.ID, f"request-{request_id}"), 2, "the request on the page")
    assert browser.execute_script("return window.notReloaded") is True
    item = browser.find_element(By.ID, f"request-{request_id}")
    # The agent's markup is text: shown as written, no element made of it, nothing ran.
    assert item.find_element(By.TAG_NAME, "h2").text == HOSTILE
    assert browser.find_elements(By.CSS_SELECTOR, "main img") == []
    assert no_alert(browser)
    assert ("Agent wants to restart into the new build from branch agent-improvement/faster. Your data will stay "
            f"in the same folder ({p.e.data_dir}). Continue?") in item.text
    assert commit[:12] in item.text and "run-42" in item.text
    shoot(browser, "approvals")

    # Approve: the Now page shows the handover's phases advancing to done, no reload.
    item.find_element(By.CSS_SELECTOR, "button.approve").click()
    wait_for(browser, lambda d: d.current_url == p.base + "/", 10, "the Now page after Approve")
    browser.execute_script("window.notReloaded = true")
    wait_for(browser, lambda d: "In progress" in d.find_element(By.ID, "live").text or
             "The last handover" in d.find_element(By.ID, "live").text, 10, "the handover on the page")
    wait_for(browser, lambda d: "The last handover: done" in d.find_element(By.ID, "live").text, 60,
             "the handover done on the page")
    assert browser.execute_script("return window.notReloaded") is True
    phases = [li.find_element(By.CLASS_NAME, "phase").text
              for li in browser.find_elements(By.CSS_SELECTOR, "ol.timeline li")]
    assert phases[-1] == "done" and "verifying" in phases and "awaiting_approval" in phases, phases
    assert p.state_of(request_id) == "done"
    assert p.s.status()["commit"] == commit

    # Deny with a reason: recorded, and shown in the history.
    denied_id, _ = p.ask("not this one")
    browser.get(p.base + "/approvals")
    item = browser.find_element(By.ID, f"request-{denied_id}")
    item.find_element(By.NAME, "reason").send_keys("too risky today")
    item.find_element(By.CSS_SELECTOR, "form.deny button").click()
    wait_for(browser, lambda d: d.current_url.startswith(p.base + "/history"), 10, "the history after Deny")
    row = p.e.request_row(denied_id)
    assert (row["state"], row["reason"]) == ("rejected", "denied: too risky today")
    assert "too risky today" in browser.find_element(By.ID, f"request-{denied_id}").text

    # The history table's rows are `history --json`'s requests, newest first.
    wanted = p.e.history()["requests"]
    rows = browser.find_elements(By.CSS_SELECTOR, "table.history tbody tr")
    assert [r.get_attribute("id") for r in rows] == [f"request-{r['id']}" for r in wanted]
    for row, want in zip(rows, wanted):
        cells = row.find_elements(By.TAG_NAME, "td")
        assert cells[1].text == want["branch"] and cells[3].text == want["summary"]
        assert cells[2].text == want["commit"][:12] and cells[4].text == want["requested_by"]
    done_row = browser.find_element(By.ID, f"request-{request_id}")
    done_row.find_element(By.TAG_NAME, "summary").click()
    assert "stopping_old" in done_row.text and "agents 3 → 3" in done_row.text
    shoot(browser, "history")
    browser.get(p.base + "/backups")
    assert "pre-restart-" in browser.page_source
    shoot(browser, "backups")
    assert no_alert(browser)


def test_a_page_refuses_what_is_not_its_own_session_s_form(tools_env, browser):
    p = Pages(tools_env, control={"login_link_lifetime": "5s"})
    browser.get(p.login_link())
    assert browser.find_element(By.TAG_NAME, "h1").text == "Now"
    # An expired link opens nothing: wait out its lifetime (the event is the clock itself).
    expired = p.login_link()
    issued = time.monotonic()
    poll_until(lambda: time.monotonic() - issued > 5.5, 10, "the link's 5 s lifetime over")
    status, body = p.raw("GET", expired[len(p.base):])
    assert status == 403 and "it expired (a link lasts 5s)" in body
    request_id, _ = p.ask("wait for me")
    browser.get(p.base + "/approvals")
    csrf = browser.find_element(By.NAME, "csrf").get_attribute("value")
    cookie = "agentron_session=" + browser.get_cookie("agentron_session")["value"]
    form = "application/x-www-form-urlencoded"
    own = p.base
    approve = f"/approvals/{request_id}/approve"

    # No cookie: no page, no form.
    for method, path in (("GET", "/"), ("GET", "/history"), ("POST", approve)):
        status, body = p.raw(method, path, {"Origin": own, "Content-Type": form}, f"csrf={csrf}")
        assert status == 401 and "agentron-supervisor open" in body, (method, path)
    # Another site's page, even with the cookie and the token: refused by the guard.
    status, body = p.raw("POST", approve, {"Cookie": cookie, "Origin": "http://evil.example",
                                           "Content-Type": form}, f"csrf={csrf}")
    assert status == 403 and "forbidden_origin" in body
    # No CSRF token, a wrong one, or no Origin at all.
    for headers, body_text in (({"Origin": own}, ""), ({"Origin": own}, "csrf=" + "0" * 64),
                               ({}, f"csrf={csrf}")):
        status, body = p.raw("POST", approve, {"Cookie": cookie, "Content-Type": form, **headers}, body_text)
        assert status == 403, (headers, body_text, body)
    # A text/plain body (what a cross-site form may send without a preflight): 415.
    status, _ = p.raw("POST", approve, {"Cookie": cookie, "Origin": own, "Content-Type": "text/plain"}, f"csrf={csrf}")
    assert status == 415
    # A login code comes only from the control socket: there is no HTTP route to one,
    # whatever the token.
    for token in (p.t.token, p.t.operator_token):
        assert http_json(p.port, "POST", "/v1/login-codes", headers={"Authorization": f"Bearer {token}"})[0] == 404
    assert p.state_of(request_id) == "awaiting_approval"  # nothing changed

    # The page itself, with the session, still works — and sends the security headers.
    status, body = p.raw("GET", "/approvals", {"Cookie": cookie})
    assert status == 200 and f"request-{request_id}" in body
    conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=10)
    conn.request("GET", "/", headers={"Host": f"127.0.0.1:{p.port}", "Cookie": cookie})
    response = conn.getresponse()
    response.read()
    conn.close()
    csp = response.getheader("Content-Security-Policy")
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("Referrer-Policy") == "no-referrer"

    # Sign out ends the session: the cookie opens nothing afterwards.
    browser.find_element(By.CSS_SELECTOR, "form.signout button").click()
    wait_for(browser, lambda d: "Signed out" in d.page_source, 10, "signed out")
    assert p.raw("GET", "/", {"Cookie": cookie})[0] == 401
    assert p.t.operator_token not in p.s.log() and p.t.token not in p.s.log()


def test_open_on_a_desktop_hands_the_link_to_xdg_open(tools_env, tmp_path):
    """With DISPLAY set, `open` runs xdg-open with the link (here a stand-in on PATH that
    appends what it got to a file); without a desktop, or with --no-browser, it only prints."""
    p = Pages(tools_env)
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    got = tmp_path / "xdg-open-got"
    (fake / "xdg-open").write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {got}\n')
    (fake / "xdg-open").chmod(0o755)
    desktop = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "DISPLAY": ":0"}
    desktop.pop("WAYLAND_DISPLAY", None)
    no_desktop = {k: v for k, v in desktop.items() if k != "DISPLAY"}

    def open_link(env, *flags):
        run = subprocess.run([str(BIN / "agentron-supervisor"), "open", *flags, "--config", str(p.s.config)],
                             env=env, capture_output=True, text=True, timeout=10)
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()

    first = open_link(desktop)
    poll_until(lambda: got.exists() and got.read_text().count("\n") == 1, 10, "xdg-open run")
    open_link(desktop, "--no-browser")
    open_link(no_desktop)
    last = open_link(desktop)
    # Each xdg-open appends its line within milliseconds of being started: the last
    # one's line come, the two in between would have come before it.
    poll_until(lambda: got.read_text().count("\n") >= 2, 10, "the last xdg-open run")
    assert got.read_text().splitlines() == [first, last]
